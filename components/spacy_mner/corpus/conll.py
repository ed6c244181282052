"""Read CoNLL-style column files (CoNLL-2003, WNUT, most NER corpora) as posts.

The format: one line per token, two or more columns separated by spaces or tabs, the token first and the
tag last (`token POS chunk NER` in CoNLL-2003, `token tag` in WNUT); sentences separated by blank lines,
`-DOCSTART-` lines skipped. Tags may name any entity type in any scheme of `spacy_mner.tags`. Sentences
have no image id, so no image and no caption.
"""
import re
from pathlib import Path
from typing import Iterator, Optional

from .posts import CorpusFormatError, Post, read_lines

COLUMNS = re.compile(r"[ \t]+")  # ASCII separators only: a token such as U+00A0 stays a token


def read_conll_posts(path: Path) -> Iterator[Post]:
    """Yield the sentences of a column file as posts, validating every line."""
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
        if post is None:
            post = Post(image_id=None, line=number)
        post.words.append(columns[0])
        post.tags.append(columns[-1])
        post.tag_lines.append(number)
    if post is not None:
        yield post
    elif n_posts == 0:
        raise CorpusFormatError(path, None, "no sentences (only blank or -DOCSTART- lines)")
