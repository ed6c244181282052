"""Calibrating the entity confidences: the temperature changes scores, never entities, and is fitted on dev
to what the entities' correctness says; `spacy_mner calibrate` saves it with the pipeline."""
import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import fix_random_seed

from spacy_mner.__main__ import main
from spacy_mner.pipeline.calibration import fit_temperature, reliability
from spacy_mner.pipeline.confidence import entity_scores

POSTS = [
    (["Obama", "visits", "Paris", "today"], ["B-PER", "O", "B-LOC", "O"]),
    (["@NASA", "launches", "from", "Florida", "!"], ["B-ORG", "O", "O", "B-LOC", "O"]),
    (["Watching", "the", "World", "Cup", "with", "Ana", "Silva"], ["O", "O", "B-OTHER", "I-OTHER", "O", "B-PER", "I-PER"]),
    (["New", "York", "Knicks", "lose", "again"], ["B-ORG", "I-ORG", "I-ORG", "O", "O"]),
]
# the same posts with half of their entities' types changed: the model, sure of its types, is wrong on them
WRONG = {"B-PER": "B-ORG", "I-PER": "I-ORG", "B-LOC": "B-OTHER"}


def trained(make_nlp, use_crf=True):
    fix_random_seed(0)
    nlp = make_nlp(use_crf=use_crf)
    egs = [Example(Doc(nlp.vocab, words=w), Doc(nlp.vocab, words=w, ents=t)) for w, t in POSTS]
    optimizer = nlp.initialize(lambda: egs)
    for _ in range(40):
        nlp.update(egs, sgd=optimizer)
    return nlp


def golds(nlp, relabel=None):
    return [Doc(nlp.vocab, words=w, ents=[(relabel or {}).get(t, t) for t in tags]) for w, tags in POSTS]


def predicted(nlp, docs):
    return list(nlp.pipe([Doc(nlp.vocab, words=[t.text for t in d]) for d in docs]))


@pytest.mark.parametrize("use_crf", [True, False])
def test_a_temperature_changes_the_scores_and_never_the_entities(make_nlp, use_crf):
    nlp = trained(make_nlp, use_crf)
    ner = nlp.get_pipe("ner")
    docs = predicted(nlp, golds(nlp))
    assert sum(len(d.ents) for d in docs) == 7
    entities, at = ner.entity_scores_at(docs, [1.0, 3.0])
    assert entities == [[(e.start, e.end, e.label_) for e in d.ents] for d in docs]
    assert [len(s) for s in at[0]] == [len(d.ents) for d in docs]
    numpy.testing.assert_allclose([s for d in at[0] for s in d], [s for d in docs for s in entity_scores(d, "ents")], rtol=1e-5)
    ner.cfg["confidence_temperature"] = 3.0
    hot = predicted(nlp, golds(nlp))
    assert [[(e.start, e.end, e.label_) for e in d.ents] for d in hot] == [[(e.start, e.end, e.label_) for e in d.ents] for d in docs]
    numpy.testing.assert_allclose([s for d in hot for s in entity_scores(d, "ents")], [s for d in at[1] for s in d], rtol=1e-5)
    # a confident model's scores are softer at a higher temperature
    assert numpy.mean([s for d in at[1] for s in d]) < numpy.mean([s for d in at[0] for s in d]) - 0.05


def test_the_fit_softens_scores_where_entities_are_wrong_and_sharpens_them_where_right(make_nlp):
    nlp = trained(make_nlp)
    wrong = fit_temperature(nlp, predicted(nlp, golds(nlp)), golds(nlp, WRONG))
    assert wrong.temperature > 1.0 and wrong.log_loss_after < wrong.log_loss_before and wrong.ece_after < wrong.ece_before
    right = fit_temperature(nlp, predicted(nlp, golds(nlp)), golds(nlp))
    assert right.temperature < wrong.temperature and right.log_loss_after <= right.log_loss_before
    assert nlp.get_pipe("ner").confidence_temperature == right.temperature


def test_the_fit_judges_crf_ners_own_entities_whatever_doc_ents_became(make_nlp):
    """A later component that drops entities (or a bfloat16 pass that groups the posts otherwise and finds
    a borderline entity differently) does not stop the fit: it judges the entities crf_ner finds itself."""
    nlp = trained(make_nlp)
    expected = fit_temperature(nlp, predicted(nlp, golds(nlp)), golds(nlp, WRONG))
    nlp.get_pipe("ner").cfg["confidence_temperature"] = 1.0

    @Language.component("drop_entities")
    def drop_entities(doc):
        doc.ents = []
        return doc

    nlp.add_pipe("drop_entities")
    docs = predicted(nlp, golds(nlp))
    assert not any(d.ents for d in docs)
    fit = fit_temperature(nlp, docs, golds(nlp, WRONG))
    assert fit.entities == 7 and fit.temperature == expected.temperature and fit.ece_after == expected.ece_after


def test_reliability_bins_and_ece():
    rows, ece = reliability([(0.95, True), (0.95, False), (0.15, False), (1.0, True)], bins=10)
    assert [(low, n) for low, _, n, _, _ in rows] == [(0.1, 1), (0.9, 3)]
    assert ece == pytest.approx(0.25 * 0.15 + 0.75 * abs(2 / 3 - 0.9666667), rel=1e-5)


def test_the_command_saves_the_fitted_temperature(make_nlp, tmp_path, capsys):
    nlp = trained(make_nlp)
    nlp.to_disk(tmp_path / "model")
    DocBin(docs=golds(nlp, WRONG)).to_disk(tmp_path / "dev.spacy")
    assert main(["calibrate", str(tmp_path / "model"), str(tmp_path / "dev.spacy"), "--output", str(tmp_path / "out")]) == 0
    line = capsys.readouterr().out
    assert "7 predicted entities; temperature" in line and "ECE" in line
    fitted = spacy.load(tmp_path / "out").get_pipe("ner").confidence_temperature
    assert fitted > 1.0 and f"temperature {fitted:.3f}" in line
    assert spacy.load(tmp_path / "model").get_pipe("ner").confidence_temperature == 1.0
    # a dev set where the model finds nothing: a warning, the pipeline left as it is
    DocBin(docs=[Doc(nlp.vocab, words=["lol", "no", "way"], ents=["O", "O", "O"])]).to_disk(tmp_path / "empty.spacy")
    assert main(["calibrate", str(tmp_path / "out"), str(tmp_path / "empty.spacy")]) == 0
    assert "predicts no entity" in capsys.readouterr().err
    assert spacy.load(tmp_path / "out").get_pipe("ner").confidence_temperature == fitted
    (tmp_path / "bad.spacy").write_text("not a docbin")
    assert main(["calibrate", str(tmp_path / "model"), str(tmp_path / "bad.spacy")]) == 1
    assert "bad.spacy: not a .spacy file" in capsys.readouterr().err
