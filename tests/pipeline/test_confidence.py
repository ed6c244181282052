"""Entity confidences: the CRF's span probability checked against every tag sequence, and `crf_ner`
storing them as spancat does, the same batched or one doc at a time, for the CRF and softmax variants."""
import itertools

import numpy
import pytest
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import fix_random_seed

from spacy_mner.pipeline.confidence import entity_scores
from spacy_mner.pipeline.crf import crf_layer, crf_span_probabilities
from spacy_mner.tags import bio_tags, transition_mask

POSTS = [
    (["Obama", "visits", "Paris", "today"], ["B-PER", "O", "B-LOC", "O"]),
    (["@NASA", "launches", "from", "Florida", "!"], ["B-ORG", "O", "O", "B-LOC", "O"]),
    (["Watching", "the", "World", "Cup", "with", "Ana", "Silva"], ["O", "O", "B-OTHER", "I-OTHER", "O", "B-PER", "I-PER"]),
    (["New", "York", "Knicks", "lose", "again"], ["B-ORG", "I-ORG", "I-ORG", "O", "O"]),
    (["lol", "no", "way"], ["O", "O", "O"]),
]
NEW = ["Ana visits New York", "Obama and Silva watch the World Cup in Paris", "ok", "Florida Knicks lose"]


def brute_force(layer, scores, span):
    """P(the span's tags are exactly B-X I-X.. and the next tag is not I-X), summing every tag sequence."""
    start_mask, trans_mask = transition_mask(layer.get_dim("nO"))
    start = layer.get_param("start") + start_mask
    end, trans = layer.get_param("end"), layer.get_param("transitions") + trans_mask
    s, e, b_tag = span
    total = inside = 0.0
    for path in itertools.product(range(scores.shape[1]), repeat=scores.shape[0]):
        score = start[path[0]] + end[path[-1]] + sum(scores[i, t] for i, t in enumerate(path))
        score += sum(trans[a, b] for a, b in zip(path, path[1:]))
        weight = numpy.exp(numpy.float64(score))
        total += weight
        wanted = (b_tag,) + (b_tag + 1,) * (e - s - 1)
        if path[s:e] == wanted and (e == len(path) or path[e] != b_tag + 1):
            inside += weight
    return inside / total


def test_span_probability_is_the_crfs_own():
    tags = bio_tags(["PER", "LOC"])
    layer = crf_layer()
    layer.set_dim("nO", len(tags))
    layer.initialize()
    rng = numpy.random.default_rng(0)
    lengths = [4, 3]
    scores = rng.normal(0, 1.5, (sum(lengths), len(tags))).astype("float32")
    spans = [[(0, 2, 1), (3, 4, 3)], [(1, 3, 3)]]  # (start, end, B-tag id): B-PER I-PER, B-LOC, B-LOC I-LOC
    probs = crf_span_probabilities(layer, scores, lengths, spans)
    assert all(isinstance(p, float) for doc in probs for p in doc)
    for d, doc_spans in enumerate(spans):
        doc_scores = scores[sum(lengths[:d]):sum(lengths[:d + 1])]
        for span, prob in zip(doc_spans, probs[d]):
            assert prob == pytest.approx(brute_force(layer, doc_scores, span), rel=1e-4)


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_span_probabilities_of_docs_of_different_lengths_are_the_crfs_own(temperature):
    """Spans at a post's first and last token, long spans, single-token posts, across a padded batch."""
    tags = bio_tags(["PER", "LOC"])
    layer = crf_layer()
    layer.set_dim("nO", len(tags))
    layer.initialize()
    for name in ("start", "end", "transitions"):  # transitions far from their small random start
        layer.set_param(name, layer.get_param(name) * 20)
    lengths = [6, 1, 3, 5]
    scores = numpy.random.default_rng(1).normal(0, 2.0, (sum(lengths), len(tags))).astype("float32")
    spans = [[(0, 1, 1), (1, 4, 3), (4, 6, 1)], [(0, 1, 3)], [(2, 3, 1)], [(0, 5, 3), (1, 2, 1)]]
    probs = crf_span_probabilities(layer, scores, lengths, spans, temperature)
    tempered = crf_layer()
    tempered.set_dim("nO", len(tags))
    tempered.initialize()
    for name in ("start", "end", "transitions"):  # the masks' -10000 stay far below any path either way
        tempered.set_param(name, layer.get_param(name) / temperature)
    for d, doc_spans in enumerate(spans):
        doc_scores = scores[sum(lengths[:d]):sum(lengths[:d + 1])] / temperature
        for span, prob in zip(doc_spans, probs[d]):
            assert prob == pytest.approx(brute_force(tempered, doc_scores, span), rel=1e-4, abs=1e-7)


def test_span_probabilities_of_extreme_scores_are_probabilities():
    """Tag scores hundreds apart (a sharp temperature on a confident model) underflow nothing to NaN."""
    tags = bio_tags(["PER", "LOC"])
    layer = crf_layer()
    layer.set_dim("nO", len(tags))
    layer.initialize()
    scores = numpy.zeros((4, len(tags)), dtype="float32")
    scores[0, 0], scores[1, 2], scores[2, 1], scores[3, 4] = 300, 300, -300, 900  # O, then I-PER after it, ...
    probs = crf_span_probabilities(layer, scores, [4], [[(0, 1, 1), (1, 2, 1), (2, 4, 3), (3, 4, 3)]], 0.25)[0]
    assert all(0.0 <= p <= 1.0 for p in probs) and probs[2] > 0.5  # B-LOC I-LOC holds the 900


def trained(use_crf: bool, make_nlp, **settings):
    fix_random_seed(0)
    nlp = make_nlp(use_crf=use_crf)
    for key, value in settings.items():
        nlp.get_pipe("ner").spans_key = value
    egs = [Example(Doc(nlp.vocab, words=w), Doc(nlp.vocab, words=w, ents=t)) for w, t in POSTS]
    optimizer = nlp.initialize(lambda: egs)
    for _ in range(30):
        nlp.update(egs, sgd=optimizer)
    return nlp


@pytest.mark.parametrize("use_crf", [True, False])
def test_each_entity_gets_a_score_stored_as_spancat_does(use_crf, make_nlp):
    nlp = trained(use_crf, make_nlp)
    docs = list(nlp.pipe(NEW, batch_size=8))
    alone = [nlp(text) for text in NEW]
    assert sum(len(doc.ents) for doc in docs) >= 3
    for doc, single in zip(docs, alone):
        group = doc.spans["ents"]
        assert [(s.start, s.end, s.label_) for s in group] == [(e.start, e.end, e.label_) for e in doc.ents]
        scores = group.attrs["scores"]
        assert len(scores) == len(doc.ents) and all(type(s) is float and 0.0 < s <= 1.0 for s in scores)
        assert entity_scores(doc, "ents") == scores
        # batched and one doc at a time: the same entities and scores
        assert [(e.start, e.end, e.label_) for e in single.ents] == [(e.start, e.end, e.label_) for e in doc.ents]
        numpy.testing.assert_allclose(single.spans["ents"].attrs["scores"], scores, rtol=1e-5)
    # the training posts are learnt: their entities are confident
    for words, _ in POSTS:
        doc = nlp(Doc(nlp.vocab, words=words))
        assert all(score > 0.5 for score in doc.spans["ents"].attrs["scores"])
    # they survive a DocBin, as spancat's do
    restored = list(DocBin(docs=docs).get_docs(nlp.vocab))
    assert [doc.spans["ents"].attrs["scores"] for doc in restored] == [doc.spans["ents"].attrs["scores"] for doc in docs]


def test_softmax_score_is_the_product_of_token_probabilities(make_nlp):
    nlp = trained(False, make_nlp)
    ner = nlp.get_pipe("ner")
    doc = nlp("Obama and Ana Silva watch the World Cup in Paris")
    assert doc.ents
    probs = ner.model.ops.softmax(ner.model.predict([doc]))
    index = {tag: i for i, tag in enumerate(ner.tags)}
    for ent, score in zip(doc.ents, doc.spans["ents"].attrs["scores"]):
        tags = [f"B-{ent.label_}"] + [f"I-{ent.label_}"] * (len(ent) - 1)
        expected = numpy.prod([probs[ent.start + i, index[tag]] for i, tag in enumerate(tags)])
        assert score == pytest.approx(float(expected), rel=1e-5)


def test_spans_key_names_the_group_or_turns_scores_off(make_nlp, tmp_path):
    nlp = trained(True, make_nlp, spans_key="ner_scores")
    doc = nlp("Obama visits Paris")
    assert "ents" not in doc.spans and len(doc.spans["ner_scores"]) == len(doc.ents)
    nlp.get_pipe("ner").spans_key = None
    doc = nlp("Obama visits Paris")
    assert not doc.spans and doc.ents and entity_scores(doc, "ents") == [None] * len(doc.ents)
    # the setting is part of the config, so a saved pipeline keeps it
    nlp = make_nlp()
    nlp.replace_pipe("ner", "crf_ner", config={"spans_key": "mine", "model": nlp.config["components"]["ner"]["model"]})
    assert nlp.config["components"]["ner"]["spans_key"] == "mine" and nlp.get_pipe("ner").spans_key == "mine"
