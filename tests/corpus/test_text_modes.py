"""The benchmark's text modes: the post written as text, the gold entities landing on the same words."""
import importlib.util
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc

from spacy_mner.corpus.text_modes import TEXT_MODES, examples_in_mode, reference_in_mode, spaces_after
from spacy_mner.corpus.docbin import read_corpus

ROOT = Path(__file__).resolve().parent.parent.parent


def test_typed_text_attaches_punctuation():
    words = ["RT", "@NASA", ":", "Obama", "(", "in", "Paris", ")", "did", "n't", "say", "it", "'s", "so", ",", "wow", "!", "…"]
    gold = Doc(spacy.blank("en").vocab, words=words)
    assert reference_in_mode(gold, "typed").text == "RT @NASA: Obama (in Paris) didn't say it's so, wow!…"
    assert reference_in_mode(gold, "spaced").text == " ".join(words)
    assert reference_in_mode(gold, "tokens").text == " ".join(words)
    assert spaces_after(["(", "("], "typed") == [False, False] and spaces_after([], "typed") == []
    with pytest.raises(ValueError, match="text mode must be one of tokens, spaced, typed"):
        spaces_after(words, "as typed")


@pytest.mark.parametrize("mode", TEXT_MODES)
def test_gold_spans_land_on_the_same_words(sample_dir, mode):
    vocab = spacy.blank("en").vocab
    golds = read_corpus(sample_dir / "test.txt", vocab)
    assert sum(len(gold.ents) for gold in golds) > 30
    moved = 0
    for gold in golds:
        golds_image = gold._.image_id
        ref = reference_in_mode(gold, mode)
        assert [t.text for t in ref] == [t.text for t in gold] and ref._.image_id == golds_image
        assert [(e.start, e.end, e.label_) for e in ref.ents] == [(e.start, e.end, e.label_) for e in gold.ents]
        for ent, gold_ent in zip(ref.ents, gold.ents):
            # the entity's characters in the new text are its words, written as the mode writes them
            assert ref.text[ent.start_char:ent.end_char] == ent.text
            assert ent.text.replace(" ", "") == "".join(t.text for t in gold_ent)
            moved += ent.start_char != gold_ent.start_char
    assert (moved > 0) == (mode == "typed")  # only typed text shifts the entities


def test_examples_give_the_pipeline_its_own_tokens(sample_dir):
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "spacy_mner.social_tokenizer.v1"}}})
    golds = read_corpus(sample_dir / "test.txt", nlp.vocab)
    for mode in TEXT_MODES:
        examples = examples_in_mode(nlp, golds, mode)
        for eg, gold in zip(examples, golds):
            assert eg.predicted.text.split() == eg.reference.text.split()
            if mode == "tokens":
                assert [t.text for t in eg.predicted] == [t.text for t in gold]
            else:
                assert [t.text for t in eg.predicted] == [t.text for t in nlp.make_doc(eg.reference.text)]
    # a pipeline that copies the gold (through the alignment) scores 1.0 in every mode
    for mode in TEXT_MODES:
        examples = examples_in_mode(nlp, golds, mode)
        for eg in examples:
            eg.predicted.ents = eg.get_aligned_spans_y2x(eg.reference.ents)
        scores = spacy.scorer.Scorer.score_spans(examples, "ents")
        assert scores["ents_f"] > (0.999 if mode != "typed" else 0.95), mode


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reliability_table_and_ece():
    calibration = load_script("calibration")
    entities = [(0.95, True)] * 9 + [(0.95, False)] + [(0.35, True)] + [(0.35, False)] * 3 + [(1.0, True)]
    rows, ece = calibration.reliability(entities, bins=10)
    assert [(round(low, 1), n) for low, _, n, _, _ in rows] == [(0.3, 4), (0.9, 11)]
    high = rows[1]
    assert high[3] == pytest.approx((0.95 * 10 + 1.0) / 11) and high[4] == pytest.approx(10 / 11)
    assert ece == pytest.approx(4 / 15 * abs(0.25 - 0.35) + 11 / 15 * abs(10 / 11 - (0.95 * 10 + 1.0) / 11))
