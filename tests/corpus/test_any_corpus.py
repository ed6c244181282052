"""Any corpus: the six-type corpus (corpus/six_types) in every accepted format, tag schemes, renames, bad input."""
import json
import shutil
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import pytest
import srsly
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from spacy_mner.corpus.docbin import convert, detect_format, parse_renames, read_corpus
from spacy_mner.corpus.posts import CorpusFormatError
from spacy_mner.tags import TagError, bio_tags, bioes_spans, detect_scheme, spans_of, transition_mask

ROOT = Path(__file__).resolve().parents[2]
SIX = ROOT / "corpus" / "six_types"
# counted by hand from corpus/six_types/train.txt (24 posts)
TRAIN_COUNTS = {"location": 12, "person": 8, "corporation": 8, "product": 8, "creative-work": 7, "group": 6}


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """An images folder keyed by the six-type corpus's image ids (small real photos from scikit-image)."""
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("images")
    photo = Image.fromarray(data.chelsea()).resize((32, 24))
    for line in (SIX / "train.txt").read_text(encoding="utf8").splitlines():
        if line.startswith("IMGID:"):
            photo.save(folder / f"{line[6:]}.jpg")
    return folder


def fields(path: Path) -> dict:
    """A DocBin's stored fields."""
    return srsly.msgpack_loads(zlib.decompress(path.read_bytes()))


def test_every_format_gives_the_same_docbin(tmp_path, images):
    captions = ROOT / "corpus" / "sample" / "captions.txt"
    out = {}
    for name in ("train.txt", "train.jsonl", "train.doccano.jsonl", "train.labelstudio.json"):
        out[name] = tmp_path / f"{name}.spacy"
        stats = convert(SIX / name, out[name], images=images, captions=captions)
        assert dict(stats.entities) == TRAIN_COUNTS and stats.posts == 24 and stats.with_image == 24
    out["passed"] = tmp_path / "passed.spacy"
    assert convert(out["train.txt"], out["passed"]).format == "spacy"
    for name in ("train.conll", "train.iob1.conll", "train.bioes.conll"):
        out[name] = tmp_path / f"{name}.spacy"
        convert(SIX / name, out[name])
    same = lambda a, b: out[a].read_bytes() == out[b].read_bytes()  # noqa: E731
    assert same("train.txt", "passed")
    assert same("train.jsonl", "train.doccano.jsonl") and same("train.jsonl", "train.labelstudio.json")
    assert same("train.conll", "train.iob1.conll") and same("train.conll", "train.bioes.conll")
    # tag formats give no whitespace (spaCy's has_unknown_spaces); otherwise the offset formats are the same
    tagged, offsets = fields(out["train.txt"]), fields(out["train.jsonl"])
    assert {k for k in tagged if tagged[k] != offsets[k]} == {"flags"}
    # column files carry no image ids; tokens and entities are the twitter file's
    docs = {name: list(DocBin().from_disk(out[name]).get_docs(Vocab())) for name in ("train.txt", "train.conll")}
    view = lambda ds: [([t.text for t in d], [(e.start, e.end, e.label_) for e in d.ents]) for d in ds]  # noqa: E731
    assert view(docs["train.txt"]) == view(docs["train.conll"])
    first = docs["train.txt"][0]
    assert first._.image == str((images / f"{first._.image_id}.jpg").resolve())


@pytest.mark.parametrize("name,scheme", [("train.conll", "iob2"), ("train.iob1.conll", "iob1"), ("train.bioes.conll", "bioes")])
def test_schemes_detected_and_counted(tmp_path, name, scheme):
    stats = convert(SIX / name, tmp_path / "out.spacy")
    assert stats.scheme == scheme
    assert dict(stats.entities) == TRAIN_COUNTS


def test_forced_scheme_that_does_not_fit_names_the_line(tmp_path):
    with pytest.raises(CorpusFormatError, match=r"train.iob1.conll, line 5: token 3: 'I-creative-work' does not continue"):
        convert(SIX / "train.iob1.conll", tmp_path / "out.spacy", scheme="bioes")
    with pytest.raises(CorpusFormatError, match=r"train.bioes.conll, line 5: token 3: tag 'S-creative-work' is not IOB2"):
        convert(SIX / "train.bioes.conll", tmp_path / "out.spacy", scheme="iob2")


def test_rename_merges_types(tmp_path):
    renames = parse_renames(["corporation=organisation", "group=organisation", "creative-work=work"])
    stats = convert(SIX / "train.txt", tmp_path / "out.spacy", renames=renames)
    assert dict(stats.entities) == {"location": 12, "person": 8, "organisation": 14, "product": 8, "work": 7}
    with pytest.raises(ValueError, match="OLD=NEW"):
        parse_renames(["MISC"])


def test_tag_scheme_functions():
    assert bio_tags(["A", "B"]) == ["O", "B-A", "I-A", "B-B", "I-B"]
    start, trans = transition_mask(5)
    assert start.tolist() == [0, 0, -10000, 0, -10000]
    assert trans[0, 2] == trans[3, 2] == -10000 and trans[1, 2] == trans[2, 2] == 0
    assert bioes_spans(["S-A", "B-B", "I-B", "E-B", "O", "U-C", "B-A", "L-A"]) == [(0, 1, "A"), (1, 4, "B"), (5, 6, "C"), (6, 8, "A")]
    assert spans_of(["I-A", "I-A", "B-A", "O", "I-B"], "iob1") == [(0, 2, "A"), (2, 3, "A"), (4, 5, "B")]
    assert detect_scheme([["O", "I-A", "B-A"]]) == "iob1"
    assert detect_scheme([["B-A", "I-A", "O", "I-A"]]) == "iob2"
    assert detect_scheme([["B-A", "L-A"]]) == "bioes"
    for bad in (["B-A", "O"], ["E-A"], ["B-A", "E-B"], ["S"]):
        with pytest.raises(TagError):
            bioes_spans(bad)


def test_rare_type_is_reported_as_a_likely_typo(tmp_path):
    path = tmp_path / "typo.txt"
    path.write_text("".join(f"IMGID:{i}\nBob\tB-PER\nsays\tO\n\n" for i in range(150)) + "IMGID:x\nAnn\tB-PRE\n", encoding="utf8")
    stats = convert(path, tmp_path / "out.spacy")
    assert [w for w in stats.warnings() if "'PRE'" in w] and not [w for w in stats.warnings() if "'PER'" in w]
    cli = subprocess.run([sys.executable, "-m", "spacy_mner", "convert", str(path), str(tmp_path / "o.spacy"),
                          "--rename", "MISC=OTHER"], capture_output=True, text=True)
    assert cli.returncode == 0 and "'PRE' has only 1 entity" in cli.stderr and "no entity of type 'MISC'" in cli.stderr


def test_format_detection(tmp_path):
    assert detect_format(SIX / "train.txt") == "twitter"
    assert detect_format(SIX / "train.conll") == "conll"
    assert detect_format(SIX / "train.labelstudio.json") == "jsonl"
    assert detect_format(tmp_path / "x.spacy") == "spacy"
    (tmp_path / "records.txt").write_text('{"text": "hi", "spans": []}\n', encoding="utf8")
    assert detect_format(tmp_path / "records.txt") == "jsonl"


def record(**fields) -> str:
    return json.dumps({"text": "Bob lives in New York", **fields})


@pytest.mark.parametrize(
    "line,message",
    [
        (record(spans=[{"start": 0, "end": 2, "label": "PER"}]), "does not fall on token boundaries"),
        (record(spans=[[13, 21, "LOC"], [17, 21, "LOC"]]), "overlaps"),
        (record(spans=[[13, 30, "LOC"]]), "outside the text"),
        (record(spans=[[4, 4, "LOC"]]), "outside the text"),
        (record(spans=[[0, 3, ""]]), "empty label"),
        (record(spans=[[0, 3]]), "must be"),
        (record(spans=[["0", 3, "PER"]]), "integers"),
        (record(label="PER"), "must be a list"),
        (json.dumps({"spans": []}), "no text"),
        ('{"text": "broken', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (record(tokens=[{"text": "Bob", "start": 1, "end": 4}]), "is not text"),
        (record(tokens=[{"text": "Bob", "start": "0", "end": 3}]), "start and end must be integers"),
        (json.dumps({"text": "Bob!! lives", "tokens": [{"text": "Bob", "start": 0, "end": 3},
                                                        {"text": "lives", "start": 6, "end": 11}]}),
         "'!! ' before token 2 is in no token"),
        (json.dumps({"text": "Bob lives here", "tokens": [{"text": "Bob", "start": 0, "end": 3},
                                                           {"text": "lives", "start": 4, "end": 9}]}),
         "' here' after the last token is in no token"),
        (record(image="missing.jpg"), "no such file"),
    ],
)
def test_bad_offset_records_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(record() + "\n\n" + line + "\n", encoding="utf8")
    with pytest.raises(CorpusFormatError, match=f"bad.jsonl, line 3: .*{message}"):
        read_corpus(path, Vocab())


def test_rejected_prodigy_records_are_left_out_and_counted(tmp_path):
    path = tmp_path / "db-out.jsonl"
    lines = [record(spans=[[0, 3, "PER"]], answer="accept"), record(spans=[[0, 2, "PER"]], answer="reject"),
             json.dumps({"text": "", "answer": "ignore"}), record(spans=[[13, 21, "LOC"]])]
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    stats = convert(path, tmp_path / "out.spacy")
    assert (stats.posts, stats.rejected, dict(stats.entities)) == (2, 2, {"PER": 1, "LOC": 1})
    assert "2 rejected or ignored records left out" in stats.report()


def test_label_studio_errors_name_the_item(tmp_path):
    task = {"data": {"text": "Bob"}, "annotations": [{"result": [{"type": "labels", "value": {"start": 0, "end": 3, "labels": ["A", "B"]}}]}]}
    path = tmp_path / "export.json"
    path.write_text(json.dumps([{"data": {"text": "Hi"}}, task]), encoding="utf8")
    with pytest.raises(CorpusFormatError, match="export.json, item 2: a region with 2 labels"):
        read_corpus(path, Vocab())


def test_tokenizer_makes_tokens_and_caption_and_image_path_kept(tmp_path, images):
    shutil.copy(next(images.iterdir()), tmp_path / "photo.jpg")
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps({"text": "Bob lives in New York!", "spans": [{"start": 13, "end": 21, "label": "city"}],
                                "image": "photo.jpg", "caption": "a cat"}) + "\n", encoding="utf8")
    doc = read_corpus(path, Vocab())[0]
    assert [t.text for t in doc] == ["Bob", "lives", "in", "New", "York", "!"] and doc.text == "Bob lives in New York!"
    assert [(e.text, e.label_) for e in doc.ents] == [("New York", "city")]
    assert doc._.image == str((tmp_path / "photo.jpg").resolve()) and doc._.image_caption == "a cat"


def test_conll2003_alias_renames_misc_and_cli_errors(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("EU NNP B-NP B-ORG\nGerman JJ B-NP B-MISC\n", encoding="utf8")
    assert Counter(e.label_ for d in read_corpus(path, Vocab(), format="conll2003") for e in d.ents) == {"ORG": 1, "OTHER": 1}
    assert Counter(e.label_ for d in read_corpus(path, Vocab()) for e in d.ents) == {"ORG": 1, "MISC": 1}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(record(spans=[[0, 2, "PER"]]) + "\n", encoding="utf8")
    cli = subprocess.run([sys.executable, "-m", "spacy_mner", "convert", str(bad), str(tmp_path / "o.spacy")],
                         capture_output=True, text=True)
    assert cli.returncode == 1 and "bad.jsonl, line 1" in cli.stderr and "Traceback" not in cli.stderr
    foreign = tmp_path / "foreign.spacy"
    foreign.write_bytes(b"not a docbin")
    cli = subprocess.run([sys.executable, "-m", "spacy_mner", "convert", str(foreign), str(tmp_path / "o.spacy")],
                         capture_output=True, text=True)
    assert cli.returncode == 1 and "not a spaCy DocBin" in cli.stderr and "Traceback" not in cli.stderr
