"""MSB over a tiny BERT built in code (no download): windows, learning, save/load offline, edge posts."""
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import numpy
import pytest
import spacy
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from thinc.api import fix_random_seed
from transformers import BertModel, BertTokenizerFast

from spacy_mner.models.msb import build_msb
from spacy_mner.models.wordpieces import Specials, assign_windows, build_windows, case_class, featurize, plan_windows

POSTS = [
    (["Obama", "visits", "Paris", "today"], ["B-PER", "O", "B-LOC", "O"]),
    (["@NASA", "launches", "from", "Florida", "!"], ["B-ORG", "O", "O", "B-LOC", "O"]),
    (
        ["Watching", "the", "World", "Cup", "with", "Ana", "Silva"],
        ["O", "O", "B-OTHER", "I-OTHER", "O", "B-PER", "I-PER"],
    ),
    (["New", "York", "Knicks", "lose", "again"], ["B-ORG", "I-ORG", "I-ORG", "O", "O"]),
    (["lol", "no", "way"], ["O", "O", "O"]),
]
IMAGE_LABELS = [[("dog", 0.9), ("golden_retriever", 0.05)], [("space_shuttle", 0.8)], None, [], None]
# "knicks", "launches", "watching" and "retriever" come out as several wordpieces
WORDS = (
    "obama visits paris today @ nasa launch ##es from florida ! watch ##ing the world cup with ana silva "
    "new york knick ##s lose again lol no way dog golden retrieve ##r space shuttle beach cat"
).split()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory, make_tiny_bert) -> Path:
    """A 2-layer, 32-wide BERT and its WordPiece tokenizer over WORDS, saved like a Hugging Face model folder."""
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), WORDS)


@pytest.fixture
def tiny_copy(tiny_bert, tmp_path) -> Path:
    """A private copy of the tiny model folder, for a test that deletes it."""
    return Path(shutil.copytree(tiny_bert, tmp_path / "tiny-bert"))


def make_nlp(folder: Path, use_crf: bool = True, **model):
    callback = {"@callbacks": "spacy_mner.multimodal_evaluate.v1"}
    nlp = spacy.blank("en", config={"nlp": {"after_pipeline_creation": callback}})
    architecture = {"@architectures": "spacy_mner.MSB.v1", "name": str(folder), **model}
    nlp.add_pipe("crf_ner", name="ner", config={"model": architecture, "use_crf": use_crf})
    return nlp


def examples(nlp) -> List[Example]:
    out = []
    for (words, tags), labels in zip(POSTS, IMAGE_LABELS):
        predicted = Doc(nlp.vocab, words=words)
        predicted._.image_labels = labels
        out.append(Example(predicted, Doc(nlp.vocab, words=words, ents=tags)))
    return out


def train(nlp, steps: int) -> List[Example]:
    egs = examples(nlp)
    optimizer = nlp.initialize(lambda: egs)
    for _ in range(steps):
        nlp.update(egs, sgd=optimizer)
    return egs


def tiny_model(folder: Path, nO: int = 5, **architecture):
    model = build_msb(name=str(folder), nO=nO, **architecture)
    model.initialize()
    return model


def post(vocab, words: List[str], labels=None) -> Doc:
    doc = Doc(vocab, words=words)
    doc._.image_labels = labels
    return doc


@settings(max_examples=200, deadline=None)
@given(
    counts=st.lists(st.integers(1, 6), min_size=1, max_size=80),
    budget=st.integers(6, 40),
    overlap=st.integers(0, 20),
)
def test_windows_cover_every_token_exactly_once(counts, budget, overlap):
    step = max(1, budget - overlap)
    windows = plan_windows(counts, budget, step)
    owner = assign_windows(counts, windows)
    assert windows[0][0] == 0 and windows[-1][1] == len(counts)
    for (start, end), (next_start, _) in zip(windows, windows[1:]):
        assert start < next_start <= end  # progress, and no token falls between two windows
    for start, end in windows:
        assert 0 < sum(counts[start:end]) <= budget
    # one owner per token, and the owner holds it
    assert len(owner) == len(counts)
    for t, w in enumerate(owner):
        assert windows[w][0] <= t < windows[w][1]


@pytest.mark.parametrize("pooling", ["first", "mean"])
def test_window_batch_reads_each_token_from_one_window(pooling):
    rng = numpy.random.default_rng(0)
    specials = Specials(cls=2, sep=3, pad=0, unk=1)
    posts = [[[int(i) for i in rng.integers(5, 50, rng.integers(1, 4))] for _ in range(n)] for n in (600, 3, 40)]
    posts[1][1] = list(range(5, 105))  # a token (a long URL, say) longer than a window keeps its first pieces
    images = [[7, 8, 9], [], list(range(10, 60))]  # the last one is cut to half a window
    batch = build_windows(posts, images, specials, window=32, stride=24, pooling=pooling)
    n_tokens = sum(len(p) for p in posts)
    assert batch.n_tokens == n_tokens and batch.input_ids.shape[1] <= 32
    assert sorted(set(batch.token_index.tolist())) == list(range(n_tokens))
    length = batch.input_ids.shape[1]
    rows_of = {}
    for token, flat in zip(batch.token_index.tolist(), batch.piece_index.tolist()):
        rows_of.setdefault(token, set()).add(flat // length)
    assert all(len(rows) == 1 for rows in rows_of.values())  # exactly one window per token
    read = [[token[:30] for token in doc] for doc in posts]  # [CLS] and [SEP] leave 30 of 32 for the post
    flat_pieces = [p for doc in read for token in doc for p in (token[:1] if pooling == "first" else token)]
    assert batch.input_ids.reshape(-1)[batch.piece_index].tolist() == flat_pieces
    if pooling == "first":
        assert batch.token_index.tolist() == list(range(n_tokens))
    # every window: [CLS] post [SEP] image [SEP], types 0 then 1; the image repeated in every window
    for ids, types, mask in zip(batch.input_ids, batch.token_type_ids, batch.attention_mask):
        row = ids[mask == 1].tolist()
        assert row[0] == specials.cls and row[-1] == specials.sep
        n_image = int(types.sum())  # the image pieces and the last [SEP]
        image = row[len(row) - n_image : -1] if n_image else []
        assert image in ([7, 8, 9], [], list(range(10, 24))) and len(row) <= 32


@pytest.mark.parametrize(
    "word,case",
    [("obama", 1), ("Obama", 2), ("I", 2), ("NASA", 3), ("#NBA", 3), ("@nasa", 1), ("iPhone", 4), ("McDonald", 4),
     ("2015", 5), ("😂", 5), ("#", 5), ("", 5), ("Zürich", 2), ("日本", 5)],
)
def test_case_class(word, case):
    assert case_class(word) == case


def test_window_batch_gives_each_post_piece_its_tokens_case():
    specials = Specials(cls=2, sep=3, pad=0, unk=1)
    long_token = list(range(30, 44))  # 14 pieces: cut to the 11 a window leaves beside [20, 21]
    posts = [[[5, 6], [7], [8, 9, 10]] * 10 + [long_token], [[11]]]  # the first post needs several windows
    cases = [[1, 2, 3] * 10 + [5], [4]]
    batch = build_windows(posts, [[20, 21], []], specials, window=16, stride=12, pooling="first", token_cases=cases)
    assert batch.input_ids.shape[0] > 2
    case_of_piece = {5: 1, 6: 1, 7: 2, 8: 3, 9: 3, 10: 3, 11: 4, **{p: 5 for p in long_token}}  # others: 0
    expected = numpy.vectorize(lambda piece: case_of_piece.get(piece, 0))(batch.input_ids)
    numpy.testing.assert_array_equal(batch.case_ids, expected)
    assert (batch.input_ids == 40).any() and not (batch.input_ids == 41).any()  # the long token was cut
    plain = build_windows(posts, [[20, 21], []], specials, window=16, stride=12, pooling="first")
    assert not plain.case_ids.any()
    with pytest.raises(ValueError, match="one case class per token"):
        build_windows(posts, [[20, 21], []], specials, window=16, stride=12, pooling="first", token_cases=cases[:1])


def test_case_features_start_at_zero_then_learn_and_survive_save_load(tiny_bert, tmp_path):
    vocab = spacy.blank("en").vocab
    docs = [post(vocab, words, labels) for (words, _), labels in zip(POSTS, IMAGE_LABELS)]
    fix_random_seed(0)
    plain = tiny_model(tiny_bert).predict(docs)
    fix_random_seed(0)
    numpy.testing.assert_allclose(tiny_model(tiny_bert, case_features=True).predict(docs), plain, rtol=1e-5, atol=1e-6)

    nlp = make_nlp(tiny_bert, case_features=True)
    egs = train(nlp, steps=40)
    assert nlp.evaluate(egs)["ents_f"] == 1.0
    net = nlp.get_pipe("ner").model.get_ref("tag_scores").get_ref("encoder").shims[0]._model
    learned = net.case_embeddings.weight.detach()
    moved = learned.abs().sum(dim=1).gt(0).tolist()
    assert moved == [False, True, True, True, False, True]  # POSTS have no mixed case; class 0 stays zero
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    loaded_net = loaded.get_pipe("ner").model.get_ref("tag_scores").get_ref("encoder").shims[0]._model
    torch.testing.assert_close(loaded_net.case_embeddings.weight, learned)
    assert loaded.get_pipe("ner").model.get_ref("tag_scores").attrs["case_features"] is True
    docs = [nlp.make_doc(t) for t in ["Obama visits PARIS today", "nasa launches from florida"]]
    numpy.testing.assert_array_equal(
        loaded.get_pipe("ner").model.predict(docs), nlp.get_pipe("ner").model.predict(docs)
    )


def test_long_post_gives_one_row_per_token(tiny_bert):
    vocab = spacy.blank("en").vocab
    model = tiny_model(tiny_bert, window=32, stride=24)
    long_post = post(vocab, ["Paris", "Knicks", "lol", "watching"] * 150, [("dog", 0.9)])
    short = post(vocab, ["Obama", "visits", "Paris"])
    scores = model.predict([long_post, post(vocab, []), short])
    assert scores.shape == (600 + 3, 5)
    # windows hold whole tokens, so the short post reads the same alone as next to the long one
    numpy.testing.assert_allclose(model.predict([short]), scores[600:], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("use_crf,pooling", [(True, "first"), (False, "mean")])
def test_learns_a_few_posts_perfectly(tiny_bert, use_crf, pooling):
    nlp = make_nlp(tiny_bert, use_crf=use_crf, pooling=pooling)
    egs = train(nlp, steps=40)
    assert nlp.get_pipe("ner").labels == ["LOC", "ORG", "OTHER", "PER"]
    scores = nlp.evaluate(egs)
    assert scores["ents_f"] == 1.0, scores["ents_per_type"]


def test_save_load_offline_after_the_model_folder_is_gone(tiny_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    nlp = make_nlp(tiny_copy, n_layers=1, window=16, stride=12)
    train(nlp, steps=5)
    texts = ["Obama visits Paris today", "watching the World Cup with @NASA in Florida " * 4, "lol 😂"]
    expected = [[(e.start, e.end, e.label_) for e in nlp(t).ents] for t in texts]
    scores = nlp.get_pipe("ner").model.predict([nlp.make_doc(t) for t in texts])
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(tiny_copy)
    loaded = spacy.load(tmp_path / "pipeline")
    assert [[(e.start, e.end, e.label_) for e in loaded(t).ents] for t in texts] == expected
    loaded_scores = loaded.get_pipe("ner").model.predict([loaded.make_doc(t) for t in texts])
    numpy.testing.assert_array_equal(loaded_scores, scores)
    shim = loaded.get_pipe("ner").model.get_ref("tag_scores").get_ref("encoder").shims[0]
    assert len(shim._model.encoder.encoder.layer) == 1  # rebuilt from the stored (cut) config


@pytest.mark.parametrize("case_features", [False, True])
def test_mixed_precision_on_cpu_predicts_in_bfloat16_and_trains_in_float32(
    tiny_bert, check_bfloat16_prediction, case_features
):
    nlp = make_nlp(tiny_bert, case_features=case_features)
    check_bfloat16_prediction(nlp, train(nlp, steps=40))


@pytest.mark.parametrize("case_features", [False, True])
def test_edge_posts(tiny_bert, case_features):
    nlp = make_nlp(tiny_bert, case_features=case_features)
    train(nlp, steps=2)
    model = nlp.get_pipe("ner").model.get_ref("tag_scores")
    tokenizer = model.get_ref("encoder").shims[0].tokenizer
    many_labels = [(f"dog{i}", 0.01) for i in range(50)]
    docs = [
        post(nlp.vocab, ["Obama", "visits", "Paris"]),  # no image words
        post(nlp.vocab, ["Obama", "visits", "Paris"], many_labels),  # 50 image words: the first 32 are read
        nlp.make_doc("😂😂🔥 🙏"),  # only emoji: every token is [UNK]
        nlp.make_doc("lol  \n no way"),  # whitespace tokens have no wordpieces: [UNK] too
        post(nlp.vocab, []),
    ]
    scores = model.predict(docs)
    assert scores.shape == (sum(len(d) for d in docs), len(nlp.get_pipe("ner").tags))
    assert numpy.isfinite(scores).all()
    for doc in nlp.pipe([d.text for d in docs]):
        assert all(t.ent_iob_ in ("B", "I", "O") for t in doc)
    batch = featurize([docs[1]], tokenizer, model.attrs)
    image_part = int(batch.token_type_ids.sum()) - 1  # the image words' pieces, without the last [SEP]
    first_32 = tokenizer([f"dog{i}" for i in range(32)], is_split_into_words=True, add_special_tokens=False)
    assert image_part == len(first_32["input_ids"])
    assert model.predict([post(nlp.vocab, []), post(nlp.vocab, [])]).shape == (0, len(nlp.get_pipe("ner").tags))
    empty = Example(Doc(nlp.vocab, words=[]), Doc(nlp.vocab, words=[]))
    assert nlp.update([empty])["ner"] == 0.0


# image_words -> (are the labels read, is the caption read) for a post that has both
READS = {"auto": (True, False), "labels": (True, False), "caption": (False, True), "both": (True, True),
         "none": (False, False)}


@pytest.mark.parametrize("source", list(READS))
def test_image_words_setting_picks_labels_or_caption(tiny_bert, assert_reads, source):
    model = tiny_model(tiny_bert, image_words=source)
    vocab = spacy.blank("en").vocab

    def scores(labels, caption):
        doc = post(vocab, ["Obama", "visits", "Paris"], labels)
        doc._.image_caption = caption
        return model.predict([doc])

    dog, cat = [("dog", 0.9)], [("cat", 0.9)]
    base = scores(dog, "space shuttle")
    reads_labels, reads_caption = READS[source]
    assert_reads(base, scores(cat, "space shuttle"), reads_labels)
    assert_reads(base, scores(dog, "beach"), reads_caption)
    # a post without labels: "auto" falls back to the caption
    assert_reads(scores(None, "space shuttle"), scores(None, "beach"), source in ("auto", "caption", "both"))


@pytest.mark.parametrize("content_only", [True, False])
def test_content_image_words_skip_the_captions_stop_words(tiny_bert, assert_reads, content_only):
    model = tiny_model(tiny_bert, image_words="caption", content_image_words=content_only)
    vocab = spacy.blank("en").vocab

    def scores(caption):
        doc = post(vocab, ["Obama", "visits", "Paris"], None)
        doc._.image_caption = caption
        return model.predict([doc])

    base = scores("a dog on a beach")
    assert_reads(base, scores("the dog on the beach !"), not content_only)
    assert_reads(base, scores("a cat on a beach"), True)


@pytest.mark.parametrize("max_words", [0, 2, 5])
def test_max_image_words_reads_the_first_words_only(tiny_bert, assert_reads, max_words):
    model = tiny_model(tiny_bert, max_image_words=max_words)
    vocab = spacy.blank("en").vocab
    labels = [("dog", 0.5), ("cat", 0.2), ("beach", 0.1), ("today", 0.05), ("paris", 0.01)]
    base = model.predict([post(vocab, ["Obama", "visits", "Paris"], labels)])
    for i in range(len(labels)):
        changed = labels[:i] + [("florida", 0.3)] + labels[i + 1:]
        assert_reads(base, model.predict([post(vocab, ["Obama", "visits", "Paris"], changed)]), i < max_words)


@pytest.mark.parametrize(
    "setting,message",
    [
        ({"window": 7, "stride": 4}, "need window >= 8 and 0 < stride <= window, got window=7, stride=4"),
        ({"window": 16, "stride": 0}, "got window=16, stride=0"),
        ({"window": 16, "stride": 17}, "got window=16, stride=17"),
        ({"pooling": "max"}, "pooling must be one of"),
        ({"image_words": "lables"}, "image_words must be one of auto, labels, caption, both, none, not 'lables'"),
        ({"max_image_words": -1}, "max_image_words must be >= 0, not -1"),
    ],
)
def test_settings_are_checked_when_the_model_is_built(tmp_path, setting, message):
    with pytest.raises(ValueError, match=message):
        build_msb(name=str(tmp_path / "not-read"), nO=3, **setting)


def test_a_window_longer_than_the_encoder_is_an_error_at_initialize(tiny_bert):
    model = build_msb(name=str(tiny_bert), nO=3, window=256, stride=128)  # the tiny BERT has 128 positions
    with pytest.raises(ValueError, match="window=256 is longer than the encoder's 128 positions"):
        model.initialize()


def test_n_layers_keeps_the_first_layers(tiny_bert):
    model = tiny_model(tiny_bert, n_layers=1)
    encoder = model.get_ref("encoder").shims[0]._model.encoder
    assert len(encoder.encoder.layer) == 1 and encoder.config.num_hidden_layers == 1
    full = BertModel.from_pretrained(tiny_bert)
    torch.testing.assert_close(encoder.encoder.layer[0].state_dict(), full.encoder.layer[0].state_dict())
    with pytest.raises(ValueError, match="n_layers"):
        tiny_model(tiny_bert, n_layers=3)


def test_building_reads_nothing_until_initialize(tmp_path):
    model = build_msb(name=str(tmp_path / "missing"), nO=3)
    with pytest.raises(OSError):
        model.initialize()


def test_default_offline_encoder_runs():
    vocab = spacy.blank("en").vocab
    model = build_msb(nO=3)
    model.initialize()
    shim = model.get_ref("encoder").shims[0]
    assert shim.hidden_size == 384 and len(shim._model.encoder.encoder.layer) == 6
    scores = model.predict([post(vocab, ["Obama", "visits", "Paris"], [("tabby", 0.7)]), post(vocab, ["#NYC", "🔥"])])
    assert scores.shape == (5, 3) and numpy.isfinite(scores).all()


def ner_weights(nlp) -> dict:
    """Every weight of the `ner` component: the encoder's, the output layer's and the CRF's."""
    ner = nlp.get_pipe("ner").model
    scorer = ner.get_ref("tag_scores")
    weights = {f"encoder.{k}": v.detach().numpy() for k, v in scorer.get_ref("encoder").shims[0]._model.state_dict().items()}
    for layer, prefix in ((scorer.get_ref("output_layer"), "output"), (ner.layers[-1], "crf")):
        weights.update({f"{prefix}.{name}": layer.get_param(name) for name in layer.param_names})
    return weights


def test_second_stage_config_starts_from_the_first_stage(tiny_bert, tmp_path):
    """configs/msb_crf_stage2.cfg sources `ner` (encoder, head, CRF) from a first-stage pipeline and trains on:
    before its first step every weight is the first stage's, and training moves them."""
    from spacy.training.initialize import init_nlp

    first = make_nlp(tiny_bert)
    egs = train(first, steps=10)
    first.to_disk(tmp_path / "stage1")
    docs = []
    for eg in egs:
        eg.reference._.image_labels = eg.predicted._.image_labels
        docs.append(eg.reference)
    DocBin(docs=docs, store_user_data=True).to_disk(tmp_path / "posts.spacy")
    posts = str(tmp_path / "posts.spacy")
    config = Path(__file__).resolve().parents[2] / "configs" / "msb_crf_stage2.cfg"
    paths = {"paths.source": str(tmp_path / "stage1"), "paths.train": posts, "paths.dev": posts}

    # what `spacy train` does before its first step
    start = init_nlp(spacy.util.load_config(config, overrides=paths, interpolate=False))
    assert start.pipe_names == ["image_labels", "ner"] and start.get_pipe("ner").labels == first.get_pipe("ner").labels
    expected = ner_weights(first)
    weights = ner_weights(start)
    assert weights.keys() == expected.keys() and len(weights) > 40
    for name, value in expected.items():
        numpy.testing.assert_array_equal(weights[name], value, err_msg=name)
    texts = [doc.text for doc in docs]
    scores = first.get_pipe("ner").model.predict([first.make_doc(t) for t in texts])
    numpy.testing.assert_array_equal(start.get_pipe("ner").model.predict([start.make_doc(t) for t in texts]), scores)

    cmd = [sys.executable, "-m", "spacy", "train", str(config), "--output", str(tmp_path / "stage2"),
           *(f"--{name}={value}" for name, value in paths.items()),
           "--training.max_steps", "3", "--training.eval_frequency", "3"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    second = spacy.load(tmp_path / "stage2" / "model-last")
    assert second.pipe_names == ["image_labels", "ner"]
    # three small steps: every part moved (the first stage's encoder, head and CRF were trained on), a little
    after = ner_weights(second)
    for part in ("encoder", "output", "crf"):
        names = [name for name in expected if name.startswith(part + ".")]
        assert any(not numpy.array_equal(after[name], expected[name]) for name in names), part
    moved = max(numpy.abs(after[name] - expected[name]).max() for name in expected)
    assert 0 < moved < 0.01


def test_second_stage_config_is_msb_crf_but_for_the_sourced_ner():
    """configs/msb_crf_stage2.cfg may not drift from configs/msb.cfg: only `ner` (sourced) and the callback
    that gives it the corpus's labels differ."""
    from thinc.api import Config

    configs = Path(__file__).resolve().parents[2] / "configs"
    first = Config().from_disk(configs / "msb.cfg", interpolate=False)
    second = Config().from_disk(configs / "msb_crf_stage2.cfg", interpolate=False)
    assert second["components"].pop("ner") == {"source": "${paths.source}"}
    assert second["paths"].pop("source") is None
    assert second["initialize"].pop("after_init") == {"@callbacks": "spacy_mner.relabel_sourced.v1", "label_map": {}}
    assert first["initialize"].pop("after_init") is None
    first["components"].pop("ner")
    assert second == first


def test_a_pipeline_saved_by_the_earlier_encoder_shim_loads(tiny_bert, tmp_path):
    """spacy-mner's shim before spacy-transformers' HFShim saved {"config", "state", "hf_files"}, the files
    being config.json and the tokenizer's; such pipelines load and predict the same."""
    import json

    import srsly

    nlp = make_nlp(tiny_bert, case_features=True)
    train(nlp, steps=2)
    nlp.to_disk(tmp_path / "pipeline")
    path = tmp_path / "pipeline" / "ner" / "model"
    msg = srsly.msgpack_loads(path.read_bytes())
    (i,) = [i for i, shims in enumerate(msg["shims"]) if shims and b"tokenizer" in shims[0]]
    new = srsly.msgpack_loads(msg["shims"][i][0])
    files = {name: data for name, data in new["tokenizer"].items() if name != "kwargs"}
    files["config.json"] = json.dumps(new["config"]).encode("utf8")
    msg["shims"][i] = [srsly.msgpack_dumps({"config": {}, "state": new["state"], "hf_files": files})]
    path.write_bytes(srsly.msgpack_dumps(msg))
    loaded = spacy.load(tmp_path / "pipeline")
    docs = [nlp.make_doc(t) for t in ["Obama visits PARIS today", "nasa launches from florida"]]
    numpy.testing.assert_array_equal(loaded.get_pipe("ner").model.predict(docs), nlp.get_pipe("ner").model.predict(docs))


def test_loading_with_the_other_case_features_setting_is_a_clear_error(tiny_bert, tmp_path):
    nlp = make_nlp(tiny_bert, case_features=True)
    nlp.initialize(lambda: examples(nlp))
    nlp.to_disk(tmp_path / "pipeline")
    with pytest.raises(ValueError, match="trained with case_features = true"):
        spacy.load(tmp_path / "pipeline", config={"components.ner.model.case_features": False})


def test_an_encoder_whose_tokenizer_lacks_its_vocabulary_file_is_a_clear_error(tiny_bert, tmp_path):
    """A sentencepiece-style fast tokenizer saved without its .model file: HFShim could not store it."""
    from transformers import AlbertConfig, AlbertModel, AlbertTokenizerFast

    folder = tmp_path / "tiny-albert"
    backend = BertTokenizerFast.from_pretrained(tiny_bert).backend_tokenizer
    specials = {"unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                "mask_token": "[MASK]"}
    AlbertTokenizerFast(tokenizer_object=backend, **specials).save_pretrained(folder)
    config = AlbertConfig(vocab_size=5 + len(WORDS), embedding_size=16, hidden_size=32, num_hidden_layers=1,
                          num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    AlbertModel(config).save_pretrained(folder)
    with pytest.raises(ValueError, match="names no vocabulary file"):
        tiny_model(folder)
