"""The `crf_ner` component over a small CWI built in code: valid paths, learning, save/load, edge posts."""
import numpy
import pytest
import spacy
import srsly
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Adam

from spacy_mner.pipeline import crf_ner
from spacy_mner.pipeline.crf import _pad, _torch_crf, crf_decode, crf_layer, crf_loss
from spacy_mner.tags import bio_tags

POSTS = [
    (["Obama", "visits", "Paris", "today"], ["B-PER", "O", "B-LOC", "O"]),
    (["@NASA", "launches", "from", "Florida", "!"], ["B-ORG", "O", "O", "B-LOC", "O"]),
    (["Watching", "the", "World", "Cup", "with", "Ana", "Silva"], ["O", "O", "B-OTHER", "I-OTHER", "O", "B-PER", "I-PER"]),
    (["New", "York", "Knicks", "lose", "again"], ["B-ORG", "I-ORG", "I-ORG", "O", "O"]),
    (["lol", "no", "way"], ["O", "O", "O"]),
]


def examples(nlp):
    out = []
    for words, tags in POSTS:
        ref = Doc(nlp.vocab, words=words, ents=tags)
        out.append(Example(Doc(nlp.vocab, words=words), ref))
    return out


def train(nlp, steps: int = 40):
    egs = examples(nlp)
    optimizer = nlp.initialize(lambda: egs)
    for _ in range(steps):
        nlp.update(egs, sgd=optimizer)
    return egs


@settings(max_examples=60, deadline=None)
@given(
    n_labels=st.integers(1, 4),
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=5),
    seed=st.integers(0, 2**16),
)
def test_crf_never_decodes_an_invalid_sequence(n_labels, lengths, seed):
    tags = bio_tags([f"L{i}" for i in range(n_labels)])
    layer = crf_layer()
    layer.set_dim("nO", len(tags))
    layer.initialize()
    rng = numpy.random.default_rng(seed)
    # scores that push hard for I- tags everywhere
    scores = rng.normal(0, 3, (sum(lengths), len(tags))).astype("float32")
    scores[:, 2::2] += 20
    for path in crf_decode(layer, scores, lengths):
        names = [tags[i] for i in path]
        for prev, cur in zip(["O"] + names, names):
            if cur.startswith("I-"):
                assert prev in (f"B-{cur[2:]}", cur), names


@settings(max_examples=60, deadline=None)
@given(
    n_tags=st.integers(1, 9),
    lengths=st.lists(st.integers(1, 15), min_size=1, max_size=6),
    seed=st.integers(0, 2**16),
)
def test_decoding_gives_pytorch_crfs_viterbi_paths(n_tags, lengths, seed):
    import torch

    layer = crf_layer()
    layer.set_dim("nO", n_tags)
    layer.initialize()
    rng = numpy.random.default_rng(seed)
    for name in ("start", "end", "transitions"):
        layer.set_param(name, rng.normal(0, 2, layer.get_param(name).shape).astype("float32"))
    scores = rng.normal(0, 3, (sum(lengths), n_tags)).astype("float32")
    padded, mask = _pad(torch.from_numpy(scores), lengths)
    expected = _torch_crf(layer, padded.device).decode(padded, mask=mask)
    assert crf_decode(layer, scores, lengths) == expected
    assert [len(path) for path in expected] == lengths


def test_learn_rate_scale_keeps_the_crf_and_scales_its_gradients_and_steps():
    tags = bio_tags(["PER", "LOC"])
    scores = numpy.random.default_rng(0).normal(0, 1, (7, len(tags))).astype("float32")
    lengths, gold = [4, 3], [[1, 2, 0, 0], [3, 0, 0]]
    out, grads, moved = {}, {}, {}
    for scale in (1.0, 100.0):
        layer = crf_layer(scale)
        layer.set_dim("nO", len(tags))
        layer.initialize()
        before = scale * layer.get_param("transitions")
        out[scale] = (crf_loss(layer, scores, lengths, gold), crf_decode(layer, scores, lengths))
        grads[scale] = layer.get_grad("transitions").copy()
        layer.finish_update(Adam(1e-4, grad_clip=0.0))
        moved[scale] = scale * layer.get_param("transitions") - before
    (loss_1, d_scores_1), paths_1 = out[1.0]
    (loss_100, d_scores_100), paths_100 = out[100.0]
    # the same CRF either way: same loss, same gradient for the model under it, same decoding
    assert loss_100 == pytest.approx(loss_1, rel=1e-5) and paths_100 == paths_1
    numpy.testing.assert_allclose(d_scores_100, d_scores_1, rtol=1e-5, atol=1e-7)
    # the stored scores' gradient is `scale` times larger, and (plain Adam) they move `scale` times as far
    assert numpy.abs(grads[1.0]).max() > 0
    numpy.testing.assert_allclose(grads[100.0], 100 * grads[1.0], rtol=1e-4, atol=1e-7)
    numpy.testing.assert_allclose(moved[100.0], 100 * moved[1.0], rtol=1e-3, atol=1e-7)


@pytest.mark.parametrize("use_crf", [True, False])
def test_learns_a_few_posts_perfectly(make_nlp, use_crf):
    nlp = make_nlp(use_crf=use_crf)
    egs = train(nlp, steps=40)
    assert nlp.get_pipe("ner").labels == ["LOC", "ORG", "OTHER", "PER"]
    scores = nlp.evaluate(egs)
    assert scores["ents_f"] == 1.0, scores["ents_per_type"]


def entities(docs):
    return [[(e.start, e.end, e.label_) for e in doc.ents] for doc in docs]


TEXTS = ["Obama visits Paris today", "New York Knicks lose again", "lol no way", "Ana Silva in Florida with @NASA"]


def test_save_load_and_pipe_give_identical_predictions(make_nlp, tmp_path):
    nlp = make_nlp()
    train(nlp, steps=40)
    expected = entities(nlp(t) for t in TEXTS)
    # the training posts' entities (the model learns them perfectly), so the comparisons below are not [] == []
    assert expected[:3] == [[(0, 1, "PER"), (2, 3, "LOC")], [(0, 3, "ORG")], []]
    assert entities(nlp.pipe(TEXTS, batch_size=2)) == expected
    docs = [nlp.make_doc(t) for t in TEXTS]
    scores = nlp.get_pipe("ner").model.predict(docs)
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert entities(loaded(t) for t in TEXTS) == entities(loaded.pipe(TEXTS)) == expected
    numpy.testing.assert_array_equal(loaded.get_pipe("ner").model.predict([loaded.make_doc(t) for t in TEXTS]), scores)


def test_prediction_in_several_groups_keeps_the_input_order(make_nlp, monkeypatch):
    """Docs are predicted in groups of similar length; every doc gets its own tags back, in input order."""
    nlp = make_nlp()
    train(nlp, steps=40)
    ner = nlp.get_pipe("ner")
    texts = ["New York Knicks lose again tonight at home", "Paris", "", "lol no way", "Obama visits Paris today",
             "Ana Silva", "watching the World Cup with Ana Silva in New York"]
    docs = [nlp.make_doc(t) for t in texts]
    alone = [ner.predict([doc])[0] for doc in docs]
    monkeypatch.setattr(crf_ner, "PREDICT_GROUP", 2)
    grouped = ner.predict(docs)
    assert [len(tags) for tags, _ in grouped] == [len(doc) for doc in docs]
    assert [tags for tags, _ in grouped] == [tags for tags, _ in alone]
    for (_, scores), (_, expected) in zip(grouped, alone):  # the entities' scores
        assert scores == pytest.approx(expected, abs=1e-5)
    assert entities(ner.pipe(docs, batch_size=5))[:5] == [[(0, 3, "ORG")], [(0, 1, "LOC")], [], [], [(0, 1, "PER"), (2, 3, "LOC")]]


def test_crf_learn_rate_scale_from_the_config_survives_save_load(make_nlp, tmp_path):
    nlp = make_nlp(crf_learn_rate_scale=10.0)
    train(nlp, steps=5)
    crf = nlp.get_pipe("ner").model.layers[-1]
    assert nlp.config["components"]["ner"]["crf_learn_rate_scale"] == 10.0 and crf.attrs["learn_rate_scale"] == 10.0
    docs = [nlp.make_doc(t) for t in TEXTS]
    scores = nlp.get_pipe("ner").model.predict(docs)
    paths = crf_decode(crf, scores, [len(doc) for doc in docs])
    nlp.to_disk(tmp_path / "model")
    # the scale is stored with the CRF's scores (which are stored divided by it): a loaded pipeline decodes
    # the same, also when its config is overridden
    for overrides in ({}, {"components.ner.crf_learn_rate_scale": 1.0}):
        loaded = spacy.load(tmp_path / "model", config=overrides)
        loaded_crf = loaded.get_pipe("ner").model.layers[-1]
        assert loaded_crf.attrs["learn_rate_scale"] == 10.0
        for name in ("start", "end", "transitions"):
            numpy.testing.assert_array_equal(loaded_crf.get_param(name), crf.get_param(name))
        assert crf_decode(loaded_crf, scores, [len(doc) for doc in docs]) == paths
    assert spacy.load(tmp_path / "model").config["components"]["ner"]["crf_learn_rate_scale"] == 10.0


def test_cwi_mixed_precision_on_cpu_predicts_in_bfloat16_and_trains_in_float32(make_nlp, check_bfloat16_prediction):
    nlp = make_nlp()
    check_bfloat16_prediction(nlp, train(nlp, steps=40))


def test_edge_posts(make_nlp):
    nlp = make_nlp()
    train(nlp, steps=2)
    long_post = " ".join(["Paris"] * 2000)
    docs = list(nlp.pipe(["", "Paris", long_post, "😂😂🔥 🙏"]))
    assert len(docs[0]) == 0 and docs[0].ents == ()
    assert len(docs[1]) == 1
    assert len(docs[2]) == 2000 and all(t.ent_iob_ in ("B", "I", "O") for t in docs[2])
    assert len(docs[3]) >= 2
    # a batch of only empty posts, and training on one
    assert list(nlp.pipe(["", ""]))[0].ents == ()
    empty = Example(Doc(nlp.vocab, words=[]), Doc(nlp.vocab, words=[]))
    assert nlp.update([empty])["ner"] == 0.0


def test_the_crf_torch_module_is_made_once_and_kept_out_of_the_bytes():
    tags = bio_tags(["PER"])
    layer = crf_layer()
    layer.set_dim("nO", len(tags))
    layer.initialize()
    scores = numpy.random.default_rng(0).normal(0, 1, (5, len(tags))).astype("float32")
    crf_loss(layer, scores, [2, 3], [[1, 2], [0, 0, 1]])
    (crf,) = layer.shims[0].crfs.values()
    assert crf_decode(layer, scores, [2, 3]) and list(layer.shims[0].crfs.values()) == [crf]  # reused
    msg = srsly.msgpack_loads(layer.to_bytes())
    assert [list(attrs) for attrs in msg["attrs"]] == [["learn_rate_scale"]] and msg["shims"] == [[b""]]
    loaded = crf_layer()
    loaded.set_dim("nO", len(tags))
    loaded.from_bytes(layer.to_bytes())
    assert not loaded.shims[0].crfs
    assert crf_decode(loaded, scores, [2, 3]) == crf_decode(layer, scores, [2, 3])


def test_a_pipeline_saved_with_the_old_model_ref_name_loads(make_nlp, tmp_path):
    """Pipelines saved before the ref was renamed from "scorer" to "tag_scores" keep loading."""
    nlp = make_nlp()
    train(nlp, steps=2)
    nlp.to_disk(tmp_path / "model")
    path = tmp_path / "model" / "ner" / "model"
    msg = srsly.msgpack_loads(path.read_bytes())
    msg["nodes"][0]["refs"]["scorer"] = msg["nodes"][0]["refs"].pop("tag_scores")
    path.write_bytes(srsly.msgpack_dumps(msg))
    loaded = spacy.load(tmp_path / "model")
    docs = [nlp.make_doc("Obama visits Paris today"), nlp.make_doc("watching the World Cup with @NASA")]
    numpy.testing.assert_array_equal(
        loaded.get_pipe("ner").model.predict(docs), nlp.get_pipe("ner").model.predict(docs)
    )
    assert loaded.get_pipe("ner").model.get_ref("tag_scores").get_ref("output_layer").get_dim("nO") == 9


def test_a_training_type_the_component_was_not_initialized_with_is_an_error(make_nlp):
    """Tagging an unknown type O would silently teach a sourced component that it is no entity."""
    nlp = make_nlp()
    train(nlp, steps=1)
    words = ["Cheerios", "for", "breakfast"]
    eg = Example(Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words, ents=["B-PRODUCT", "O", "O"]))
    with pytest.raises(ValueError, match=r"entity type 'PRODUCT'.*LOC, ORG, OTHER, PER"):
        nlp.update([eg])
