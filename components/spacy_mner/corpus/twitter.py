"""Read the Twitter-2015 multimodal NER layout: `IMGID:` blocks of `token<TAB>tag` lines.

One block per post, a line `IMGID:<id>`, then one `token<TAB>tag` line per token; blocks are separated by
blank lines. Tokens are kept exactly as given (the Doc gets no whitespace information, so spaCy's corpus
reader rebuilds the same tokens), including tokens that are only a no-break space. Tags may name any
entity type, in any scheme of `spacy_mner.tags` (the converter detects it). Any other problem stops the
read with an error naming file and line.
"""
from pathlib import Path
from typing import Iterator, Optional

from .posts import CorpusFormatError, Post, read_lines


def read_twitter_posts(path: Path) -> Iterator[Post]:
    """Yield the posts of a Twitter-2015 layout file, validating every line."""
    path = Path(path)
    post: Optional[Post] = None
    for number, line in enumerate(read_lines(path), start=1):
        if line == "" or line.startswith("IMGID:"):
            if post is not None and post.words:
                yield post
            elif post is not None:
                raise CorpusFormatError(path, post.line, "a post with no tokens")
            post = None
            if line:
                image_id = line[len("IMGID:"):].strip()
                post = Post(image_id=image_id or None, line=number)
            continue
        if "\t" not in line:
            raise CorpusFormatError(path, number, f"expected 'token<TAB>tag', found no tab in {line!r}")
        token, tag = line.rsplit("\t", 1)
        if token == "":
            raise CorpusFormatError(path, number, "empty token")
        if post is None:
            post = Post(image_id=None, line=number)
        post.words.append(token)
        post.tags.append(tag.strip())
        post.tag_lines.append(number)
    if post is not None:
        if not post.words:
            raise CorpusFormatError(path, post.line, "a post with no tokens")
        yield post
