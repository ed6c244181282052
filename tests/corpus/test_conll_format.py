"""The CoNLL-2003 reader for MSB's first stage: sentences, MISC read as OTHER, clear errors."""
import subprocess
import sys

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from spacy_mner.corpus.conll import read_conll_posts
from spacy_mner.corpus.docbin import convert, corpus_stats, read_corpus
from spacy_mner.corpus.posts import CorpusFormatError

TEXT = (
    "-DOCSTART- -X- -X- O\n\n"
    "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\ncall NN I-NP O\n\n"
    "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n\n\n"
    "-DOCSTART- -X- -X- O\n"
    "New NNP B-NP B-LOC\nYork NNP I-NP I-LOC\nWorld NNP I-NP B-MISC\nCup NNP I-NP I-MISC"
)


def test_sentences_and_misc_as_other(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text(TEXT, encoding="utf8")
    posts = list(read_conll_posts(path))
    assert [p.words for p in posts] == [
        ["EU", "rejects", "German", "call"], ["Peter", "Blackburn"], ["New", "York", "World", "Cup"]
    ]
    assert [p.line for p in posts] == [3, 8, 13]
    docs = read_corpus(path, Vocab(), format="conll2003")
    assert [[(e.text, e.label_) for e in d.ents] for d in docs] == [
        [("EU", "ORG"), ("German", "OTHER")], [("Peter Blackburn", "PER")], [("New York", "LOC"), ("World Cup", "OTHER")]
    ]
    assert all(d._.image_id is None and d._.image_caption is None for d in docs)


def test_tabs_crlf_iob1_and_a_no_break_space_token(tmp_path):
    """Tab or space columns, CRLF endings, whitespace-only separators; IOB1's I- after O starts an entity;
    a U+00A0 token is a token, not a separator."""
    path = tmp_path / "iob1.txt"
    path.write_bytes("EU\tNNP\tI-NP\tI-ORG\r\n\u00a0 SYM O O\r\nGerman JJ I-NP I-MISC\r\n \t \r\nBonn NNP I-NP I-LOC\r\n".encode("utf8"))
    docs = read_corpus(path, Vocab(), format="conll2003")
    assert [[t.text for t in d] for d in docs] == [["EU", "\u00a0", "German"], ["Bonn"]]
    assert [[(e.text, e.label_) for e in d.ents] for d in docs] == [[("EU", "ORG"), ("German", "OTHER")], [("Bonn", "LOC")]]


@pytest.mark.parametrize(
    "text,line,message",
    [
        ("EU NNP B-NP B-ORG\nrejects\n", 2, "columns"),
        ("EU NNP B-NP O\nBonn NNP B-NP CITY\n", 2, "neither O nor PREFIX-TYPE"),
        ("EU NNP B-NP O\nBonn NNP B-NP E-LOC\n", 2, "does not continue a B-/I-"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf8")
    with pytest.raises(CorpusFormatError, match=f"bad.txt, line {line}: .*{message}"):
        read_corpus(path, Vocab(), format="conll")


def test_a_file_without_sentences_is_an_error(tmp_path):
    path = tmp_path / "docstart.txt"
    path.write_text("-DOCSTART- -X- -X- O\n\n-DOCSTART- -X- -X- O\n", encoding="utf8")
    with pytest.raises(CorpusFormatError, match="docstart.txt: no sentences"):
        list(read_conll_posts(path))


def test_convert_cli_format_flag(tmp_path):
    path = tmp_path / "dev.txt"
    path.write_text(TEXT, encoding="utf8")
    out = tmp_path / "dev.spacy"
    cmd = [sys.executable, "-m", "spacy_mner", "convert", str(path), str(out), "--format", "conll2003",
           "--captions", str(tmp_path / "captions.txt")]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "ignored with CoNLL column files" in done.stderr
    assert "posts 3" in done.stdout and "OTHER 2" in done.stdout
    assert len(list(DocBin().from_disk(out).get_docs(Vocab()))) == 3


def test_conll2003_counts(tmp_path, conll_dir):
    """SOURCES.md's counts: 14041 / 3250 / 3453 sentences; train LOC/MISC/ORG/PER 7140/3438/6321/6600."""
    conll = conll_dir
    stats = convert(conll / "train.txt", tmp_path / "train.spacy", format="conll2003")
    assert (stats.posts, dict(stats.entities)) == (14041, {"LOC": 7140, "OTHER": 3438, "ORG": 6321, "PER": 6600})
    for name, sentences in (("valid.txt", 3250), ("test.txt", 3453)):
        assert corpus_stats(read_corpus(conll / name, Vocab(), format="conll2003")).posts == sentences
