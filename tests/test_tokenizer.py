"""The social media tokenizer: its splits, its place in every config and saved pipeline, and crf_ner's gold
reaching its tokens through spaCy's alignment when they differ from the corpus's."""
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import load_config

from spacy_mner.training_hooks.reader import MultimodalCorpus
from spacy_mner.pipeline.crf_ner import CRFEntityRecognizer
from spacy_mner.tokenizer import social_tokenizer

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.cfg"))
CASES = {
    "Go #Blackhawks! @NHL:": ["Go", "#Blackhawks", "!", "@NHL", ":"],
    "$AAPL up $5": ["$AAPL", "up", "$", "5"],
    "bought $AAPL. and $BRK.B": ["bought", "$AAPL", ".", "and", "$BRK.B"],
    "read http://t.co/Z3neVBQ7vF, and http://t.co… or http:… h…": [
        "read", "http://t.co/Z3neVBQ7vF", ",", "and", "http://t.co…", "or", "http:…", "h…"],
    "xD :-) <3 so 😂😂 👍🏽 👨\u200d👩\u200d👧 🇺🇸!": ["xD", ":-)", "<3", "so", "😂😂", "👍🏽", "👨\u200d👩\u200d👧", "🇺🇸", "!"],
    "Tom &amp; Jerry &amp ; &gt": ["Tom", "&amp", ";", "Jerry", "&amp", ";", "&gt"],
    "I've seen Sox's Anheuser-Busch w/GoogleDraw 2-1": [
        "I", "'", "ve", "seen", "Sox", "'", "s", "Anheuser-Busch", "w/GoogleDraw", "2-1"],
    "(#NWM7) rock! New York.": ["(", "#NWM7", ")", "rock", "!", "New", "York", "."],
    # every period a token, as the annotators wrote them; decimals, domains and emoticons stay whole
    "Mr. Smith of the U.S. and J.K. Rowling... wow.... 3.5 at google.com o.O": [
        "Mr", ".", "Smith", "of", "the", "U", ".", "S", ".", "and", "J", ".", "K", ".", "Rowling", ".", ".", ".",
        "wow", ".", ".", ".", ".", "3.5", "at", "google.com", "o.O"],
}


@pytest.mark.parametrize("text", CASES)
def test_splits(text):
    assert [t.text for t in social_tokenizer(spacy.blank("en"))(text)] == CASES[text]


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_config_names_it(path):
    assert load_config(path)["nlp"]["tokenizer"] == {"@tokenizers": "spacy_mner.social_tokenizer.v1"}


def test_saved_with_the_pipeline(tmp_path):
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "spacy_mner.social_tokenizer.v1"}}})
    text = next(iter(CASES))
    nlp.to_disk(tmp_path / "nlp")
    loaded = spacy.load(tmp_path / "nlp")
    assert loaded.config["nlp"]["tokenizer"]["@tokenizers"] == "spacy_mner.social_tokenizer.v1"
    for sample in CASES:
        assert [t.text for t in loaded(sample)] == CASES[sample]
    assert [t.text for t in spacy.blank("en")(text)] != CASES[text]  # spaCy's default splits differently


def test_gold_reaches_other_tokens_through_the_alignment(tmp_path):
    nlp = spacy.blank("en")  # spaCy's tokenizer: '#Blackhawks' -> '#', 'Blackhawks'
    ref = Doc(nlp.vocab, words=["Go", "#Blackhawks", "!", "New", "York", "rocks"],
              ents=["O", "B-ORG", "O", "B-LOC", "I-LOC", "O"])
    index = {tag: i for i, tag in enumerate(["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG"])}
    split = Example(nlp.make_doc(ref.text), ref)
    assert [t.text for t in split.predicted] == ["Go", "#", "Blackhawks", "!", "New", "York", "rocks"]
    assert CRFEntityRecognizer._gold(split, index) == [0, 3, 4, 0, 1, 2, 0]
    # tokens across the entity's edges join it instead of being trained as O
    odd = Example(Doc(nlp.vocab, words=["Go", "#Black", "hawks!", "New York", "rocks"]), ref)
    assert CRFEntityRecognizer._gold(odd, index) == [0, 3, 4, 1, 0]
    # the training reader gives the pipeline's own tokens, not the corpus's
    from spacy.tokens import DocBin

    DocBin(docs=[ref]).to_disk(tmp_path / "train.spacy")
    social = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "spacy_mner.social_tokenizer.v1"}}})
    (example,) = MultimodalCorpus(tmp_path / "train.spacy")(social)
    assert [t.text for t in example.predicted] == ["Go", "#Blackhawks", "!", "New", "York", "rocks"]
    (example,) = MultimodalCorpus(tmp_path / "train.spacy")(nlp)
    assert [t.text for t in example.predicted] == ["Go", "#", "Blackhawks", "!", "New", "York", "rocks"]
