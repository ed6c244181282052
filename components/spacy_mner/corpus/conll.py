"""Read CoNLL-2003 English NER files as posts, for MSB's optional first training stage (the paper's).

The format: one `token POS chunk NER` line per token, sentences separated by blank lines, documents by
`-DOCSTART-` lines. Only the first column (token) and the last (IOB2 tag) are used. CoNLL-2003's MISC is
read as Twitter-2015's OTHER, so a model trained on it has the four Twitter-2015 labels and can be the
starting point of a Twitter-2015 run. Sentences have no image and no caption.
"""
from pathlib import Path
from typing import Iterator, Optional

from .twitter import CorpusFormatError, Post, read_lines

LABELS = {"PER": "PER", "LOC": "LOC", "ORG": "ORG", "MISC": "OTHER"}


def read_conll_posts(path: Path) -> Iterator[Post]:
    """Yield the sentences of a CoNLL-2003 file as posts with Twitter-2015 tags, validating every line."""
    path = Path(path)
    post: Optional[Post] = None
    for number, line in enumerate(read_lines(path), start=1):
        columns = line.split()
        if not columns or columns[0] == "-DOCSTART-":
            if post is not None:
                yield post
            post = None
            continue
        if len(columns) < 2:
            raise CorpusFormatError(path, number, f"expected 'token ... NER-tag' columns, found {line!r}")
        token, tag = columns[0], columns[-1]
        prefix, _, kind = tag.partition("-")
        if tag != "O" and (prefix not in ("B", "I") or kind not in LABELS):
            raise CorpusFormatError(
                path, number, f"unknown tag {tag!r}; expected O or B-/I- with {', '.join(LABELS)}"
            )
        if post is None:
            post = Post(image_id=None, line=number)
        post.words.append(token)
        post.tags.append(tag if tag == "O" else f"{prefix}-{LABELS[kind]}")
    if post is not None:
        yield post

