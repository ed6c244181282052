"""Cross-view training in `crf_ner`: the KL term's gradients, the text view, and what training with it does."""
import numpy
import pytest
import torch
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import fix_random_seed
from thinc.api import NumpyOps

from spacy_mner.pipeline.cross_view import cross_view_kl, text_view

POSTS = [
    (["Obama", "visits", "Paris", "today"], ["B-PER", "O", "B-LOC", "O"], "a man waving at a crowd"),
    (["@NASA", "launches", "from", "Florida", "!"], ["B-ORG", "O", "O", "B-LOC", "O"], "a rocket on a launch pad"),
    (["Watching", "the", "World", "Cup", "with", "Ana"], ["O", "O", "B-OTHER", "I-OTHER", "O", "B-PER"], "a football stadium"),
    (["New", "York", "Knicks", "lose", "again"], ["B-ORG", "I-ORG", "I-ORG", "O", "O"], None),
    (["lol", "no", "way"], ["O", "O", "O"], "a cat on a sofa"),
]


def examples(nlp, captions: bool = True):
    out = []
    for words, tags, caption in POSTS:
        predicted = Doc(nlp.vocab, words=words)
        predicted._.image_caption = caption if captions else None
        out.append(Example(predicted, Doc(nlp.vocab, words=words, ents=tags)))
    return out


def test_kl_and_its_gradients_match_torch_autograd():
    rng = numpy.random.default_rng(0)
    multimodal, text = rng.normal(0, 2, (7, 5)).astype("float32"), rng.normal(0, 2, (7, 5)).astype("float32")
    kl, d_m, d_t = cross_view_kl(NumpyOps(), multimodal, text)
    m, t = torch.tensor(multimodal, requires_grad=True), torch.tensor(text, requires_grad=True)
    expected = torch.nn.functional.kl_div(t.log_softmax(1), m.log_softmax(1), log_target=True, reduction="sum")
    expected.backward()
    assert kl == pytest.approx(expected.item(), rel=1e-4)
    numpy.testing.assert_allclose(d_m, m.grad.numpy(), atol=1e-5)
    numpy.testing.assert_allclose(d_t, t.grad.numpy(), atol=1e-5)


def test_the_text_view_drops_the_image_signal_and_keeps_the_post(make_nlp):
    nlp = make_nlp()
    doc = Doc(nlp.vocab, words=["Go", "#Cubs", "!"], spaces=[True, False, False])
    doc._.image_caption, doc._.image_labels, doc._.image_id = "a baseball field", [("ballplayer", 0.9)], "17"
    text = text_view(doc)
    assert text.text == doc.text and [t.text for t in text] == [t.text for t in doc] and text._.image_id == "17"
    assert text._.image_caption is None and text._.image_labels == []
    assert doc._.image_caption == "a baseball field" and doc._.image_labels == [("ballplayer", 0.9)]


def view_divergence(nlp, egs) -> float:
    """Mean per-token KL between the two views' tag distributions of the posts with captions."""
    model = nlp.get_pipe("ner").model.get_ref("tag_scores")
    docs = [eg.predicted for eg in egs if eg.predicted._.image_caption]
    kl, _, _ = cross_view_kl(model.ops, model.predict(docs), model.predict([text_view(d) for d in docs]))
    return kl / sum(len(d) for d in docs)


def trained(make_nlp, weight: float, captions: bool = True, steps: int = 30, pull: str = "both"):
    fix_random_seed(0)
    nlp = make_nlp(cross_view_weight=weight, cross_view_pull=pull, image_words="caption")
    egs = examples(nlp, captions)
    optimizer = nlp.initialize(lambda: egs)
    for _ in range(steps):
        nlp.update(egs, sgd=optimizer)
    return nlp, egs


def test_the_kl_term_pulls_the_two_views_together(make_nlp):
    # a negligible weight trains both views on the gold without the KL term's pull
    unpulled, egs = trained(make_nlp, 1e-6)
    pulled, _ = trained(make_nlp, 5.0)
    assert view_divergence(pulled, egs) < 0.5 * view_divergence(unpulled, egs)
    # and both views of the training posts are learned
    model = pulled.get_pipe("ner")
    for view in (lambda d: d, text_view):
        docs = [view(eg.predicted.copy()) for eg in egs]
        model.set_annotations(docs, model.predict(docs))
        assert [[(e.start, e.end, e.label_) for e in d.ents] for d in docs] == [
            [(e.start, e.end, e.label_) for e in eg.reference.ents] for eg in egs]


def test_a_text_pull_trains_only_the_text_view_toward_the_multimodal_one(make_nlp):
    def multimodal_gradient(pull: str):
        nlp, egs = trained(make_nlp, 5.0, steps=0, pull=pull)
        ner = nlp.get_pipe("ner")
        scores = ner.model.predict([eg.predicted for eg in egs])
        d_scores = numpy.zeros_like(scores)
        extra = ner._update_text_view(egs, scores, d_scores)
        return d_scores, extra

    both, both_loss = multimodal_gradient("both")
    text, text_loss = multimodal_gradient("text")
    captioned = numpy.repeat([caption is not None for _, _, caption in POSTS], [len(w) for w, _, _ in POSTS])
    assert numpy.abs(both[captioned]).sum() > 0 and not both[~captioned].any()
    assert not text.any()  # the multimodal scores get no KL gradient: they are the text view's teacher
    assert text_loss == pytest.approx(both_loss)  # the same loss, only its gradient differs
    # and the pull still brings the views together
    unpulled, egs = trained(make_nlp, 1e-6, pull="text")
    pulled, _ = trained(make_nlp, 5.0, pull="text")
    assert view_divergence(pulled, egs) < 0.5 * view_divergence(unpulled, egs)


def test_posts_without_image_words_train_exactly_as_with_one_view(make_nlp):
    single, _ = trained(make_nlp, 0.0, captions=False, steps=5)
    both, _ = trained(make_nlp, 5.0, captions=False, steps=5)
    for a, b in zip(single.get_pipe("ner").model.walk(), both.get_pipe("ner").model.walk()):
        for name in a.param_names:
            numpy.testing.assert_array_equal(a.get_param(name), b.get_param(name))


def test_a_negative_weight_is_an_error(make_nlp):
    with pytest.raises(ValueError, match="cross_view_weight must be >= 0"):
        make_nlp(cross_view_weight=-1.0)
    with pytest.raises(ValueError, match="cross_view_pull must be one of"):
        make_nlp(cross_view_pull="multimodal")
