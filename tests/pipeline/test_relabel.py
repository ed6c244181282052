"""A trained `crf_ner` moved to another corpus's labels: the plan (kept, carried, added, dropped), and the
two-stage recipe through configs/msb_crf_stage2.cfg from a 4-type first stage to the six-type corpus."""
import logging
from io import StringIO
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.training.initialize import init_nlp
from spacy.training.loop import train as train_loop

from spacy_mner.corpus.docbin import convert
from spacy_mner.pipeline.relabel import plan_label_change
from spacy_mner.tags import bio_tags
from spacy_mner.training_hooks.sourced_labels import parse_label_map

ROOT = Path(__file__).resolve().parents[2]
SIX = ROOT / "corpus" / "six_types"
STAGE2 = ROOT / "configs" / "msb_crf_stage2.cfg"
# the first stage's four types: two of the six-type corpus's names, two of CoNLL's
FIRST = [
    (["Obama", "visits", "Paris", "today"], ["B-person", "O", "B-location", "O"]),
    (["@NASA", "launches", "from", "Florida", "!"], ["B-ORG", "O", "O", "B-location", "O"]),
    (["Watching", "the", "World", "Cup", "with", "Ana", "Silva"], ["O", "O", "B-OTHER", "I-OTHER", "O", "B-person", "I-person"]),
    (["New", "York", "Knicks", "lose", "again"], ["B-ORG", "I-ORG", "I-ORG", "O", "O"]),
]
FIRST_LABELS = ["ORG", "OTHER", "location", "person"]
SIX_LABELS = ["corporation", "creative-work", "group", "location", "person", "product"]


def test_plan_keeps_carries_adds_and_drops():
    sources, change, notes = plan_label_change(FIRST_LABELS, SIX_LABELS, {"ORG": "corporation"})
    old = {tag: i for i, tag in enumerate(bio_tags(FIRST_LABELS))}
    new = bio_tags(SIX_LABELS)
    expected = {"O": "O", "B-corporation": "B-ORG", "I-corporation": "I-ORG", "B-location": "B-location",
                "I-location": "I-location", "B-person": "B-person", "I-person": "I-person"}
    assert {new[j]: bio_tags(FIRST_LABELS)[i] for j, i in enumerate(sources) if i is not None} == expected
    assert [new[j] for j, i in enumerate(sources) if i is None] == [
        "B-creative-work", "I-creative-work", "B-group", "I-group", "B-product", "I-product"]
    assert sources[new.index("B-corporation")] == old["B-ORG"]
    assert (change.kept, change.carried, change.added, change.dropped) == (
        ["location", "person"], [("ORG", "corporation")], ["creative-work", "group", "product"], ["OTHER"])
    assert change.describe() == ("kept: location, person; carried over: ORG -> corporation; "
                                 "added (fresh weights): creative-work, group, product; dropped: OTHER")
    assert notes == []


def test_plan_warns_about_map_entries_it_cannot_use_and_rejects_two_sources_for_one_label():
    _, change, notes = plan_label_change(FIRST_LABELS, SIX_LABELS, {"PER": "person", "ORG": "company"})
    assert change.kept == ["location", "person"] and change.carried == []
    assert len(notes) == 2 and "'PER' is not a label of the trained component" in notes[0]
    assert "'company' is not a label of the training corpus" in notes[1]
    with pytest.raises(ValueError, match="maps both 'ORG' and 'OTHER' to 'group'"):
        plan_label_change(FIRST_LABELS, SIX_LABELS, {"ORG": "group", "OTHER": "group"})


def test_label_map_from_a_config_dict_or_a_command_line_string():
    assert parse_label_map({"ORG": "corporation"}) == {"ORG": "corporation"}
    assert parse_label_map(" ORG=corporation, MISC=OTHER ") == {"ORG": "corporation", "MISC": "OTHER"}
    assert parse_label_map("") == {}
    with pytest.raises(ValueError, match="label_map 'ORG': expected OLD=NEW"):
        parse_label_map("ORG")


@pytest.fixture(scope="module")
def six_types(tmp_path_factory) -> Path:
    """corpus/six_types train and dev as DocBins (no images: the image words play no part here)."""
    folder = tmp_path_factory.mktemp("six_types")
    for split in ("train", "dev"):
        convert(SIX / f"{split}.txt", folder / f"{split}.spacy")
    return folder


@pytest.fixture(scope="module")
def stage1(tmp_path_factory, make_tiny_bert, six_types, one_torch_thread) -> Path:
    """A tiny MSB + CRF trained a few seeded steps on the 4-type posts, saved."""
    from spacy.util import fix_random_seed

    nlp = spacy.blank("en")
    words = [w.lower() for doc in DocBin().from_disk(six_types / "train.spacy").get_docs(nlp.vocab) for w in
             (t.text for t in doc)] + [w.lower() for ws, _ in FIRST for w in ws]
    bert = make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), words)
    fix_random_seed(0)
    nlp.add_pipe("crf_ner", name="ner", config={"model": {"@architectures": "spacy_mner.MSB.v1", "name": str(bert)}})
    egs = [Example(Doc(nlp.vocab, words=w), Doc(nlp.vocab, words=w, ents=t)) for w, t in FIRST]
    optimizer = nlp.initialize(lambda: egs)
    for _ in range(5):
        nlp.update(egs, sgd=optimizer)
    assert nlp.get_pipe("ner").labels == FIRST_LABELS
    nlp.get_pipe("ner").cfg["confidence_temperature"] = 2.0  # as if calibrated on the first stage's dev
    path = tmp_path_factory.mktemp("stage1") / "pipeline"
    nlp.to_disk(path)
    return path


def parts(nlp) -> dict:
    """The `ner` component's encoder state, output layer and CRF parameters, as numpy arrays."""
    ner = nlp.get_pipe("ner").model
    scorer = ner.get_ref("tag_scores")
    out = {f"encoder.{k}": v.detach().numpy().copy() for k, v in scorer.get_ref("encoder").shims[0]._model.state_dict().items()}
    for layer, prefix in ((scorer.get_ref("output_layer"), "output"), (ner.layers[-1], "crf")):
        out.update({f"{prefix}.{name}": layer.ops.to_numpy(layer.get_param(name)).copy() for name in layer.param_names})
    return out


def test_the_second_stage_takes_the_corpus_labels_and_keeps_the_first_stages_weights(
    stage1, six_types, tmp_path, caplog, one_torch_thread
):
    """configs/msb_crf_stage2.cfg as `spacy train` runs it (init_nlp, then the training loop) on the six-type
    corpus: the sourced `ner` gets the six labels; the encoder and the rows of the shared (and carried) tags
    are the first stage's; it learns the new types."""
    overrides = {"paths.source": str(stage1), "paths.train": str(six_types / "train.spacy"),
                 "paths.dev": str(six_types / "dev.spacy"), "initialize.after_init.label_map": "ORG=corporation",
                 "training.max_epochs": 30, "training.max_steps": 60, "training.eval_frequency": 60,
                 "training.optimizer.learn_rate.initial_rate": 0.001}
    config = spacy.util.load_config(STAGE2, overrides=overrides, interpolate=False)
    with caplog.at_level(logging.WARNING, logger="spacy"):
        nlp = init_nlp(config)
    assert nlp.get_pipe("ner").labels == SIX_LABELS
    assert nlp.get_pipe("ner").confidence_temperature == 1.0  # the re-made head is not calibrated
    assert ("labels changed to the training data's (corporation, creative-work, group, location, person, product): "
            "kept: location, person; carried over: ORG -> corporation; added (fresh weights): creative-work, "
            "group, product; dropped: OTHER") in caplog.text

    first, start = parts(spacy.load(stage1)), parts(nlp)
    encoder = [name for name in first if name.startswith("encoder.")]
    assert len(encoder) > 30
    for name in encoder:
        numpy.testing.assert_array_equal(start[name], first[name], err_msg=name)
    old, new = bio_tags(FIRST_LABELS), bio_tags(SIX_LABELS)
    carried = {"O": "O", "B-location": "B-location", "I-location": "I-location", "B-person": "B-person",
               "I-person": "I-person", "B-corporation": "B-ORG", "I-corporation": "I-ORG"}
    rows_new = [new.index(tag) for tag in carried]
    rows_old = [old.index(tag) for tag in carried.values()]
    assert start["output.W"].shape == (len(new), first["output.W"].shape[1])
    for name in ("output.W", "output.b", "crf.start", "crf.end"):
        numpy.testing.assert_array_equal(start[name][rows_new], first[name][rows_old], err_msg=name)
    numpy.testing.assert_array_equal(start["crf.transitions"][numpy.ix_(rows_new, rows_new)],
                                     first["crf.transitions"][numpy.ix_(rows_old, rows_old)])
    fresh = [new.index(f"{p}-{label}") for label in ("creative-work", "group", "product") for p in "BI"]
    assert not numpy.allclose(start["output.W"][fresh], 0)  # a fresh layer's draws, not zeros or copies

    (tmp_path / "stage2").mkdir()
    train_loop(nlp, tmp_path / "stage2", stdout=StringIO(), stderr=StringIO())
    second = spacy.load(tmp_path / "stage2" / "model-last")
    assert second.get_pipe("ner").labels == SIX_LABELS
    docs = list(DocBin().from_disk(six_types / "train.spacy").get_docs(second.vocab))
    examples = [Example(second.make_doc(doc.text), doc) for doc in docs]
    scores = second.evaluate(examples)["ents_per_type"]
    assert {"creative-work", "group", "product"} <= set(scores)
    assert all(scores[label]["f"] > 0.5 for label in ("creative-work", "group", "product")), scores
