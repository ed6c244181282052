"""Read CoNLL-2003 English NER files as posts, for MSB's optional first training stage (the paper's).

The format: one `token POS chunk NER` line per token (columns separated by spaces or tabs), sentences
separated by blank lines, documents by `-DOCSTART-` lines. Only the first column (token) and the last
(the IOB1 or IOB2 tag) are used. CoNLL-2003's MISC is read as Twitter-2015's OTHER, so a model trained on
it has the four Twitter-2015 labels and can be the starting point of a Twitter-2015 run. Sentences have no
image and no caption.
"""
import re
from pathlib import Path
from typing import Iterator, Optional

from .twitter import ENTITY_TYPES, VALID_TAGS, CorpusFormatError, Post, read_lines

TYPE_MAP = {"MISC": "OTHER"}
COLUMNS = re.compile(r"[ \t]+")  # ASCII separators only: a token such as U+00A0 stays a token


def read_conll_posts(path: Path) -> Iterator[Post]:
    """Yield the sentences of a CoNLL-2003 file as posts with Twitter-2015 tags, validating every line."""
    path = Path(path)
    post: Optional[Post] = None
    n_posts = 0
    for number, line in enumerate(read_lines(path), start=1):
        line = line.strip(" \t")
        columns = COLUMNS.split(line) if line else []
        if not columns or columns[0] == "-DOCSTART-":
            if post is not None:
                n_posts += 1
                yield post
            post = None
            continue
        if len(columns) < 2:
            raise CorpusFormatError(path, number, f"expected 'token ... NER-tag' columns, found {line!r}")
        token, tag = columns[0], columns[-1]
        prefix, _, kind = tag.partition("-")
        mapped = f"{prefix}-{TYPE_MAP.get(kind, kind)}" if kind else tag
        if mapped not in VALID_TAGS:
            types = ", ".join(t for t in ENTITY_TYPES if t != "OTHER")
            raise CorpusFormatError(path, number, f"unknown tag {tag!r}; expected O or B-/I- with {types}, MISC")
        if post is None:
            post = Post(image_id=None, line=number)
        post.words.append(token)
        post.tags.append(mapped)
    if post is not None:
        yield post
    elif n_posts == 0:
        raise CorpusFormatError(path, None, "no sentences (only blank or -DOCSTART- lines)")
