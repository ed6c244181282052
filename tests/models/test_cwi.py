"""CWI's parts: the paper's layers, the features, the vectors, the switches, and seeded reproducibility."""
import math

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import fix_random_seed

from spacy_mner.models.cwi_features import doc_image_word_ids, vector_key
from spacy_mner.models.layers import CharCNN, SameConv1d, SineReLU, TargetedDropout
from spacy_mner.training_hooks.vectors import build_vectors, make_static_vectors_callback


def test_sine_relu():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.7, 3.0])
    expected = [0.0025 * (math.sin(v) - math.cos(v)) if v <= 0 else v for v in x.tolist()]
    assert SineReLU(0.0025)(x).tolist() == pytest.approx(expected)


def test_targeted_dropout_drops_only_small_units_and_only_in_training():
    torch.manual_seed(0)
    layer = TargetedDropout(drop_rate=1.0, target_rate=0.4)
    x = torch.arange(1, 11, dtype=torch.float32).repeat(3, 1)
    out = layer(x)
    assert (out[:, :4] == 0).all() and torch.equal(out[:, 4:], x[:, 4:])
    layer.eval()
    assert torch.equal(layer(x), x)


@pytest.mark.parametrize("kernel", [2, 3, 4])
def test_same_conv_pads_as_keras(kernel):
    """Keras' 'same': (kernel - 1) // 2 zeros on the left, kernel // 2 on the right."""
    torch.manual_seed(kernel)
    conv, x = SameConv1d(5, 3, kernel), torch.randn(4, 5, 9)
    padded = torch.nn.functional.pad(x, ((kernel - 1) // 2, kernel // 2))
    expected = torch.nn.functional.conv1d(padded, conv.weight, conv.bias)
    assert conv(x).shape == (4, 3, 9)
    assert torch.allclose(conv(x), expected, atol=1e-6)


@pytest.mark.parametrize("regularize", [True, False])
def test_char_cnn_shape(regularize):
    cnn = CharCNN(n_chars=100, regularize=regularize)
    out = cnn(torch.randint(0, 100, (7, 40)))
    assert out.shape == (7, 640) == (7, cnn.width)


def test_hashtags_and_mentions_read_the_word_vector():
    assert vector_key("#Blackhawks") == vector_key("blackhawks") == vector_key("@BlackHawks")
    assert vector_key("#") != vector_key("")


def test_image_words_are_hashed_and_capped():
    nlp = spacy.blank("en")
    docs = [nlp.make_doc("a"), nlp.make_doc("b"), nlp.make_doc("c")]
    docs[0]._.image_labels = [("tabby", 0.5), ("tiger_cat", 0.3)]
    docs[1]._.image_caption = " ".join(["word"] * 50)
    ids, lengths, words = doc_image_word_ids(docs, "auto", n_buckets=100, max_words=32)
    assert lengths.tolist() == [3, 32, 1] and words[0] == ["tabby", "tiger", "cat"] and words[2] == []
    assert ids[2, 0] == 1 and (ids >= 0).all() and ids.max() < 102
    assert doc_image_word_ids(docs[:1], "auto", n_buckets=100, max_words=32)[0].shape == (1, 3)  # the longest list
    # unhashed (the words are read by their vectors): the ids only mark the posts without image words
    unhashed, unhashed_lengths, unhashed_words = doc_image_word_ids(docs, "auto", 100, 32, hashed=False)
    assert unhashed.tolist() == (ids == 1).astype(int).tolist()
    assert unhashed_lengths.tolist() == lengths.tolist() and unhashed_words == words


def test_static_vectors_from_packages_and_text_files(tmp_path):
    words, table, _ = build_vectors(["glove-6b-50d", "en_core_web_md"], max_rows=1000)
    assert table.shape == (1000, 350) and words[:3] == ["the", ",", "."]
    # GloVe's "the" and en_core_web_md's "the" are real vectors, not the uniform fill
    assert numpy.abs(table[0]).max() > 0.25
    path = tmp_path / "tiny.vec"
    path.write_text("2 3\nrocket 0.1 0.2 0.3\nchelsea 0.4 0.5 0.6\n")
    words, table, _ = build_vectors([str(path), "glove-6b-50d"], max_rows=10)
    assert words == ["rocket", "chelsea"] and table.shape == (2, 53)
    assert table[0, :3].tolist() == pytest.approx([0.1, 0.2, 0.3])
    nlp = make_static_vectors_callback(sources=[str(path)], max_rows=10)(spacy.blank("en"))
    assert nlp.vocab.vectors.shape == (2, 3) and nlp.vocab.has_vector("chelsea")
    # one comma-separated string, as project.yml's `vectors` var passes it
    nlp = make_static_vectors_callback(sources=f"{path}, glove-6b-50d", max_rows=10)(spacy.blank("en"))
    assert nlp.vocab.vectors.shape == (2, 53)


def test_vector_width_mismatch_is_a_clear_error(make_nlp):
    nlp = make_nlp(vectors_width=500)
    doc = Doc(nlp.vocab, words=["Paris"], ents=["B-LOC"])
    with pytest.raises(ValueError, match="expects 500-dimensional word vectors but the pipeline's are 350"):
        nlp.initialize(lambda: [Example(doc.copy(), doc)])


def initialized(make_nlp, **model):
    """A CWI pipeline initialized (not trained) on one post."""
    nlp = make_nlp(**model)
    ref = Doc(nlp.vocab, words=["Obama", "in", "Paris"], ents=["B-PER", "O", "B-LOC"])
    nlp.initialize(lambda: [Example(Doc(nlp.vocab, words=[t.text for t in ref]), ref)])
    return nlp


def scorer(nlp):
    """The CWI tag scorer under the CRF: docs -> one row of tag scores per token."""
    return nlp.get_pipe("ner").model.get_ref("tag_scores")


def torch_net(nlp):
    return next(node for node in scorer(nlp).walk() if node.shims).shims[0]._model


def make_post(nlp, words, labels=None):
    doc = Doc(nlp.vocab, words=words)
    doc._.image_labels = labels
    return doc


def change_chars(nlp, model):
    """The same words in capitals: the same word vectors (vector_key lower-cases) and image words."""
    return model.predict([make_post(nlp, ["Obama", "in", "Paris"])]), model.predict([make_post(nlp, ["OBAMA", "IN", "PARIS"])])


def change_words(nlp, model):
    """The same post, read again after the static vector of "paris" changed."""
    docs = [make_post(nlp, ["Obama", "in", "Paris"])]
    before = model.predict(docs)
    vectors = nlp.vocab.vectors
    vectors.data[vectors.find(key=vector_key("paris"))] += 0.5
    return before, model.predict(docs)


def change_image(nlp, model):
    """The same post with other image labels."""
    dog = make_post(nlp, ["Obama", "in", "Paris"], [("tabby", 0.9)])
    band = make_post(nlp, ["Obama", "in", "Paris"], [("guitar", 0.9), ("stage", 0.1)])
    return model.predict([dog]), model.predict([band])


# the switch that removes an input -> a change of that input alone, giving the scores before and after
INPUTS = {"use_chars": change_chars, "use_words": change_words, "use_image": change_image}


@pytest.mark.parametrize("switch", list(INPUTS))
@pytest.mark.parametrize("on", [True, False])
def test_a_switched_off_input_does_not_reach_the_scores(make_nlp, assert_reads, switch, on):
    """Change one input (characters, word vectors or image words) and nothing else: with its switch on the
    scores change, with it off they stay exactly equal."""
    nlp = initialized(make_nlp, **{switch: on})
    before, after = INPUTS[switch](nlp, scorer(nlp))
    assert before.shape == after.shape == (3, len(nlp.get_pipe("ner").tags))
    assert_reads(before, after, on)


def test_without_inputs_cwi_is_a_clear_error(make_nlp):
    with pytest.raises(ValueError, match="at least one of use_chars, use_words, use_image"):
        make_nlp(use_chars=False, use_words=False, use_image=False)


@pytest.mark.parametrize("regularize", [True, False])
def test_char_regularizers_switch_targeted_dropout(make_nlp, regularize):
    """With the character CNN's regularizers (targeted dropout among them) on, two training passes over the
    same batch draw differently; off, they are equal (the fusion dropout is 0 here), and the CNN ends in no
    group normalisation either."""
    nlp = initialized(make_nlp, char_regularizers=regularize)
    docs = [make_post(nlp, ["Obama", "in", "Paris"])]
    passes = []
    for seed in (1, 2):
        fix_random_seed(seed)
        passes.append(scorer(nlp).begin_update(docs)[0])
    regularizers = torch_net(nlp).chars.regularize
    if regularize:
        assert numpy.abs(passes[0] - passes[1]).max() > 1e-6
        assert [type(m).__name__ for m in regularizers] == ["TargetedDropout", "SineReLU", "GroupNorm"]
    else:
        numpy.testing.assert_array_equal(*passes)
        assert isinstance(regularizers, torch.nn.Identity)


def test_attention_reads_each_post_alone_in_a_batch_of_posts_of_other_lengths(make_nlp):
    """With attention, a post's scores are the same alone as beside longer posts (the padding mask keeps
    other posts' padding out of the softmax), and the attention's weights reach the scores."""
    nlp = initialized(make_nlp, attention=True)
    model, net = scorer(nlp), torch_net(nlp)
    assert net.width == 400
    posts = [["Obama", "in", "Paris"], ["Paris"], ["so", "much", "love", "for", "Obama", "in", "Paris", "tonight"]]
    docs = [make_post(nlp, words) for words in posts]
    batch = model.predict(docs)
    starts = numpy.cumsum([0] + [len(words) for words in posts])
    for doc, start, end in zip(docs, starts[:-1], starts[1:]):
        numpy.testing.assert_allclose(batch[start:end], model.predict([doc]), rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        net.attention.weight.mul_(2.0)
    assert numpy.abs(model.predict(docs) - batch).max() > 1e-4
    assert torch_net(initialized(make_nlp, attention=False)).attention is None


# image_words -> (are the labels read, is the caption read) for a post that has both
READS = {"auto": (True, False), "labels": (True, False), "caption": (False, True), "both": (True, True),
         "none": (False, False)}


@pytest.mark.parametrize("source", list(READS))
def test_image_words_setting_picks_labels_or_caption(make_nlp, assert_reads, source):
    nlp = initialized(make_nlp, image_words=source)

    def scores(labels, caption):
        doc = make_post(nlp, ["Obama", "in", "Paris"], labels)
        doc._.image_caption = caption
        return scorer(nlp).predict([doc])

    dog, band = [("tabby", 0.9)], [("guitar", 0.9)]
    base = scores(dog, "a dog on a sofa")
    reads_labels, reads_caption = READS[source]
    assert_reads(base, scores(band, "a dog on a sofa"), reads_labels)
    assert_reads(base, scores(dog, "a band on a stage"), reads_caption)
    # a post without labels: "auto" falls back to the caption
    assert_reads(scores(None, "a dog on a sofa"), scores(None, "a band on a stage"), source in ("auto", "caption", "both"))


@pytest.mark.parametrize("content_only", [True, False])
def test_content_image_words_skip_the_captions_stop_words(make_nlp, assert_reads, content_only):
    nlp = initialized(make_nlp, image_words="caption", content_image_words=content_only)

    def scores(caption):
        doc = make_post(nlp, ["Obama", "in", "Paris"])
        doc._.image_caption = caption
        return scorer(nlp).predict([doc])

    base = scores("a dog on a sofa")
    assert_reads(base, scores("the dog on the sofa !"), not content_only)
    assert_reads(base, scores("a cat on a sofa"), True)


@pytest.mark.parametrize("max_words", [0, 2, 5])
def test_max_image_words_reads_the_first_words_only(make_nlp, assert_reads, max_words):
    nlp = initialized(make_nlp, max_image_words=max_words)
    labels = [("tabby", 0.5), ("lynx", 0.2), ("guitar", 0.1), ("stage", 0.05), ("sofa", 0.01)]
    base = scorer(nlp).predict([make_post(nlp, ["Obama", "in", "Paris"], labels)])
    for i in range(len(labels)):
        changed = labels[:i] + [("volcano", 0.3)] + labels[i + 1:]
        assert_reads(base, scorer(nlp).predict([make_post(nlp, ["Obama", "in", "Paris"], changed)]), i < max_words)


def test_image_vectors_read_each_image_word_through_its_static_vector(make_nlp, assert_reads):
    """With `image_vectors` an image word is its static vector, not a hashed row: a label given another's
    vector reads exactly as that one, a change of its vector in the table moves the scores, and only a post
    without image words reads the learned "no image" row."""
    nlp = initialized(make_nlp, image_vectors=True)
    net, model, vectors = torch_net(nlp), scorer(nlp), nlp.vocab.vectors
    assert net.image_embed.num_embeddings == 2 and net.image_proj.in_features == vectors.shape[1]

    def scores(labels):
        return model.predict([make_post(nlp, ["Obama", "in", "Paris"], labels)])

    row = lambda word: vectors.find(key=vector_key(word))  # noqa: E731
    dog = scores([("dog", 0.9)])
    assert row("guitar") >= 0 and row("dog") >= 0
    vectors.data[row("guitar")] = vectors.data[row("dog")]
    numpy.testing.assert_allclose(scores([("guitar", 0.9)]), dog, rtol=1e-6)
    vectors.data[row("dog")] += 0.5
    dog_moved = scores([("dog", 0.9)])
    assert_reads(dog, dog_moved, True)
    no_image = scores(None)
    with torch.no_grad():
        net.image_embed.weight[1] += 1.0
    assert_reads(no_image, scores(None), True)
    assert_reads(dog_moved, scores([("dog", 0.9)]), False)


@pytest.mark.parametrize(
    "setting,message",
    [({"image_words": "lables"}, "image_words must be one of auto, labels, caption, both, none, not 'lables'"),
     ({"max_image_words": -1}, "max_image_words must be >= 0, not -1")],
)
def test_image_word_settings_are_checked_when_the_model_is_built(make_nlp, setting, message):
    with pytest.raises(ValueError, match=message):
        make_nlp(**setting)


def test_same_seed_same_model(make_nlp):
    def train_once():
        fix_random_seed(0)
        nlp = make_nlp(dropout=0.3)
        refs = [Doc(nlp.vocab, words=w.split(), ents=t.split()) for w, t in
                [("Obama in Paris", "B-PER O B-LOC"), ("go #Blackhawks", "O B-ORG")]]
        egs = [Example(Doc(nlp.vocab, words=[t.text for t in r]), r) for r in refs]
        optimizer = nlp.initialize(lambda: egs)
        for _ in range(3):
            nlp.update(egs, sgd=optimizer)
        return nlp.get_pipe("ner").model.predict([nlp.make_doc("Obama loves the #Blackhawks in Paris")])

    numpy.testing.assert_array_equal(train_once(), train_once())


def test_prediction_reads_each_distinct_word_once_with_the_same_scores(make_nlp):
    """In prediction the character CNN sees each distinct word of a batch once; the scores are those of
    reading every token (training's path, here with dropout off)."""
    nlp = make_nlp()
    ref = Doc(nlp.vocab, words=["Obama", "in", "Paris"], ents=["B-PER", "O", "B-LOC"])
    nlp.initialize(lambda: [Example(Doc(nlp.vocab, words=[t.text for t in ref]), ref)])
    docs = [nlp.make_doc(t) for t in ("Paris , Paris and Paris again", "in Paris with Obama , Obama", "Paris")]
    featurize, net = nlp.get_pipe("ner").model.get_ref("tag_scores").layers
    deduped = featurize.predict(docs)
    every_token, _ = featurize(docs, is_train=True)
    assert len(deduped[0]) == 7 and len(every_token[0]) == 13  # chars of distinct words vs of tokens
    numpy.testing.assert_allclose(net.predict(deduped), net.predict(every_token), rtol=1e-5, atol=1e-6)


def test_padded_bilstm_equals_packed_bidirectional_lstm():
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from spacy_mner.models.layers import PaddedBiLSTM

    torch.manual_seed(0)
    ours = PaddedBiLSTM(5, 3)
    packed = torch.nn.LSTM(5, 3, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name, param in packed.named_parameters():
            direction = "backward_lstm" if name.endswith("_reverse") else "forward_lstm"
            param.copy_(ours.state_dict()[f"{direction}.{name.replace('_reverse', '')}"])
    x, lengths = torch.randn(3, 6, 5, requires_grad=True), torch.tensor([6, 2, 4])
    expected = packed(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))[0]
    expected = pad_packed_sequence(expected, batch_first=True, total_length=6)[0]
    mask = torch.arange(6)[None, :] < lengths[:, None]
    out = ours(x, lengths)[mask]
    torch.testing.assert_close(out, expected[mask])
    weights = torch.randn_like(out)
    (expected_grad,) = torch.autograd.grad((expected[mask] * weights).sum(), x)
    (grad,) = torch.autograd.grad((out * weights).sum(), x)
    torch.testing.assert_close(grad, expected_grad)
