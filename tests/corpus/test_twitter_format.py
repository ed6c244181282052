"""The Twitter-2015 reader: faithful tokens and entities, and clear errors for malformed files."""
import subprocess
import sys
from pathlib import Path

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from spacy_mner.corpus.docbin import convert, corpus_stats, read_corpus
from spacy_mner.corpus.posts import CorpusFormatError, read_captions
from spacy_mner.corpus.twitter import read_twitter_posts as read_posts
from spacy_mner.tags import bio_spans


def write(tmp_path: Path, text: str, name: str = "posts.txt", encoding: str = "utf8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_last_post_without_trailing_blank_line_is_read(tmp_path):
    path = write(tmp_path, "IMGID:a1\nHi\tO\nBob\tB-PER\n\nIMGID:a2\nParis\tB-LOC\nrocks\tO")
    posts = list(read_posts(path))
    assert [p.image_id for p in posts] == ["a1", "a2"]
    assert posts[1].words == ["Paris", "rocks"]


def test_no_break_space_token_survives(tmp_path):
    path = write(tmp_path, "IMGID:a1\nNew\tB-LOC\n\u00a0\tO\nYork\tB-LOC\n")
    doc = read_corpus(path, Vocab())[0]
    assert [t.text for t in doc] == ["New", "\u00a0", "York"]
    assert [(e.text, e.label_) for e in doc.ents] == [("New", "LOC"), ("York", "LOC")]


def test_orphan_inside_tag_starts_an_entity():
    tags = ["B-LOC", "O", "I-LOC", "I-LOC", "I-PER", "B-ORG", "I-ORG"]
    assert bio_spans(tags) == [(0, 1, "LOC"), (2, 4, "LOC"), (4, 5, "PER"), (5, 7, "ORG")]


@pytest.mark.parametrize(
    "text,line,message",
    [
        ("IMGID:a1\nHi O\n", 2, "no tab"),
        ("IMGID:a1\nHi\tO\nthere\tBFOO\n", 3, "neither O nor PREFIX-TYPE"),
        ("IMGID:a1\nHi\tO\nthere\tX-FOO\n", 3, "not IOB2"),
        ("IMGID:a1\nHi\tO\n\nIMGID:a2\n\nIMGID:a3\nx\tO\n", 4, "no tokens"),
        ("IMGID:a1\n\tO\n", 2, "empty token"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(CorpusFormatError, match=f"{path.name}, line {line}: .*{message}"):
        read_corpus(path, Vocab())


def test_empty_and_wrongly_encoded_files(tmp_path):
    with pytest.raises(CorpusFormatError, match="empty"):
        list(read_posts(write(tmp_path, "\n\n")))
    latin = write(tmp_path, "IMGID:a1\nHi\tO\nCaf\u00e9\tB-ORG\n", name="latin.txt", encoding="latin-1")
    with pytest.raises(CorpusFormatError, match="latin.txt, line 3: not UTF-8"):
        list(read_posts(latin))
    with pytest.raises(CorpusFormatError, match="no such file"):
        list(read_posts(tmp_path / "missing.txt"))


def test_docbin_keeps_image_path_and_caption(sample_dir, tmp_path):
    out = tmp_path / "train.spacy"
    stats = convert(sample_dir / "train.txt", out, images=sample_dir / "images", captions=sample_dir / "captions.txt")
    docs = list(DocBin().from_disk(out).get_docs(Vocab()))
    assert len(docs) == stats.posts == 120
    with_image = [d for d in docs if d._.image]
    assert len(with_image) == stats.with_image > 0
    assert all(Path(d._.image).is_file() for d in with_image)
    assert sum(d._.image_caption is not None for d in docs) == stats.with_caption > 0
    assert all(d._.image_id for d in docs)
    assert sum(len(d.ents) for d in docs) == sum(stats.entities.values())


def test_convert_cli_reports_and_fails_clearly(sample_dir, tmp_path):
    cmd = [sys.executable, "-m", "spacy_mner", "convert"]
    ok = subprocess.run(cmd + [str(sample_dir / "dev.txt"), str(tmp_path / "dev.spacy")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "posts 30" in ok.stdout and "PER" in ok.stdout
    bad = write(tmp_path, "IMGID:a1\nHi\tX-PER\n", name="bad.txt")
    failed = subprocess.run(cmd + [str(bad), str(tmp_path / "bad.spacy")], capture_output=True, text=True)
    assert failed.returncode == 1
    assert "bad.txt, line 2" in failed.stderr and "Traceback" not in failed.stderr
    assert not (tmp_path / "bad.spacy").exists()


def convert_cli(*args):
    cmd = [sys.executable, "-m", "spacy_mner", "convert", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_convert_cli_images_and_captions(sample_dir, tmp_path):
    out = tmp_path / "dev.spacy"
    done = convert_cli(sample_dir / "dev.txt", out, "--images", sample_dir / "images", "--captions", sample_dir / "captions.txt")
    assert done.returncode == 0, done.stderr
    docs = list(DocBin().from_disk(out).get_docs(Vocab()))
    captions = read_captions(sample_dir / "captions.txt")
    assert len(docs) == 30
    for doc in docs:
        image = sample_dir / "images" / f"{doc._.image_id}.jpg"
        assert doc._.image == (str(image.resolve()) if image.is_file() else None)
        assert doc._.image_caption == captions.get(doc._.image_id)
    n_images = sum(d._.image is not None for d in docs)
    n_captions = sum(d._.image_caption is not None for d in docs)
    assert n_images > 0 and n_captions > 0
    assert f"with image {n_images} ({100 * n_images / 30:.1f}%), with caption {n_captions}" in done.stdout
    missing = [d._.image_id for d in docs if d._.image is None]
    assert f"warning: {sample_dir / 'dev.txt'}: {len(missing)} of 30 posts have no image in {sample_dir / 'images'} (ids {', '.join(missing[:5])}, ...)" in done.stderr


def test_convert_cli_missing_image_folder_is_a_warning(sample_dir, tmp_path):
    out = tmp_path / "dev.spacy"
    done = convert_cli(sample_dir / "dev.txt", out, "--images", tmp_path / "nope")
    assert done.returncode == 0, done.stderr
    assert f"--images {tmp_path / 'nope'}: no such folder; the posts get no image path" in done.stderr
    docs = list(DocBin().from_disk(out).get_docs(Vocab()))
    assert len(docs) == 30 and not any(d._.image for d in docs) and all(d._.image_id for d in docs)


@pytest.mark.parametrize(
    "captions,message",
    [
        (None, "no such file"),
        ("s121.jpg :a dog\nno separator here\n", "captions.txt, line 2: expected '<id>.jpg :<caption>'"),
        ("s121.jpg :caf\u00e9\n", "captions.txt, line 1: not UTF-8"),
    ],
)
def test_convert_cli_bad_captions_file_is_an_error(sample_dir, tmp_path, captions, message):
    path = tmp_path / "captions.txt"
    if captions is not None:
        path.write_bytes(captions.encode("latin-1"))
    out = tmp_path / "dev.spacy"
    done = convert_cli(sample_dir / "dev.txt", out, "--captions", path)
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_twitter2015_counts(twitter_dir):
    """The benchmark as SOURCES.md counts it, orphan I- tags counted as entity starts."""
    expected = {
        "train.txt": (4000, 64439, {"PER": 2285, "LOC": 2135, "ORG": 957, "OTHER": 975}),
        "valid.txt": (1000, 16178, {"PER": 567, "LOC": 543, "ORG": 251, "OTHER": 233}),
        "test.txt": (3257, 52822, {"PER": 1873, "LOC": 1720, "ORG": 860, "OTHER": 754}),
    }
    captions = twitter_dir / "captions_blip2.txt"
    assert len(read_captions(captions)) > 8000
    for name, (posts, tokens, entities) in expected.items():
        stats = corpus_stats(read_corpus(twitter_dir / name, Vocab(), captions=captions))
        assert (stats.posts, stats.tokens, dict(stats.entities)) == (posts, tokens, entities)
        assert stats.with_caption == posts
