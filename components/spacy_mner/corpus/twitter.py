"""Read the Twitter-2015 multimodal NER format into spaCy Docs.

The format: one block per post, a line `IMGID:<id>`, then one `token<TAB>BIO-tag` line per token; blocks
are separated by blank lines. Tokens are kept exactly as given (the Doc gets no whitespace information,
so spaCy's corpus reader rebuilds the same tokens), including tokens that are only a no-break space.

Orphan I- tags (an `I-X` after `O` or after another type) start a new entity, as conlleval, seqeval and
spaCy's `iob_to_biluo` count them. Any other problem stops the read with an error naming file and line.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

ENTITY_TYPES = ("PER", "LOC", "ORG", "OTHER")
VALID_TAGS = {"O"} | {f"{p}-{t}" for p in "BI" for t in ENTITY_TYPES}


class CorpusFormatError(ValueError):
    """A corpus file that does not follow the expected format, with the file and line at fault."""

    def __init__(self, path: Path, line: Optional[int], message: str):
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


@dataclass
class Post:
    """One post as the file gives it."""

    image_id: Optional[str]
    words: List[str] = field(default_factory=list)
    tags: List[str] = field(default_factory=list)
    line: int = 0  # line number of the post's first line, for messages


def read_lines(path: Path) -> List[str]:
    """The file's lines without line endings; a clear error for a missing, empty or non-UTF-8 file."""
    path = Path(path)
    if not path.is_file():
        raise CorpusFormatError(path, None, "no such file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise CorpusFormatError(path, line, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    if not text.strip():
        raise CorpusFormatError(path, None, "the file is empty")
    # split on \n only: tokens such as U+00A0 or U+2028 must survive, so no str.splitlines()
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def read_posts(path: Path) -> Iterator[Post]:
    """Yield the posts of a Twitter-2015 file, validating every line."""
    path = Path(path)
    post: Optional[Post] = None
    for number, line in enumerate(read_lines(path), start=1):
        if line == "":
            if post is not None and post.words:
                yield post
            elif post is not None:
                raise CorpusFormatError(path, post.line, "a post with no tokens")
            post = None
            continue
        if line.startswith("IMGID:"):
            if post is not None and post.words:
                yield post
            elif post is not None:
                raise CorpusFormatError(path, post.line, "a post with no tokens")
            image_id = line[len("IMGID:"):].strip()
            post = Post(image_id=image_id or None, line=number)
            continue
        if "\t" not in line:
            raise CorpusFormatError(path, number, f"expected 'token<TAB>tag', found no tab in {line!r}")
        token, tag = line.rsplit("\t", 1)
        tag = tag.strip()
        if tag not in VALID_TAGS:
            raise CorpusFormatError(
                path, number, f"unknown tag {tag!r}; expected O or B-/I- with {', '.join(ENTITY_TYPES)}"
            )
        if token == "":
            raise CorpusFormatError(path, number, "empty token")
        if post is None:
            post = Post(image_id=None, line=number)
        post.words.append(token)
        post.tags.append(tag)
    if post is not None:
        if not post.words:
            raise CorpusFormatError(path, post.line, "a post with no tokens")
        yield post


def bio_spans(tags: List[str]) -> List[Tuple[int, int, str]]:
    """(start, end, label) token spans of BIO tags; an orphan I- tag starts an entity."""
    spans: List[Tuple[int, int, str]] = []
    start, label = None, None
    for i, tag in enumerate(tags + ["O"]):
        prefix, _, kind = tag.partition("-")
        if label is not None and (prefix != "I" or kind != label):
            spans.append((start, i, label))
            start, label = None, None
        if prefix == "B" or (prefix == "I" and label is None):
            start, label = i, kind
    return spans


def post_to_doc(vocab: Vocab, post: Post) -> Doc:
    """A Doc with the post's own tokens and gold entities."""
    doc = Doc(vocab, words=post.words)
    doc.ents = [Span(doc, s, e, label=label) for s, e, label in bio_spans(post.tags)]
    doc._.image_id = post.image_id
    return doc


def read_captions(path: Path) -> Dict[str, str]:
    """image id -> caption, from lines `<id>.jpg :<caption>` (a caption may be empty)."""
    captions: Dict[str, str] = {}
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        name, sep, caption = line.partition(" :")
        if not sep:
            raise CorpusFormatError(Path(path), number, f"expected '<id>.jpg :<caption>', found {line!r}")
        captions[Path(name.strip()).stem] = caption.strip()
    return captions
