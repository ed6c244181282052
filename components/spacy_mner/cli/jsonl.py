"""What the apps that tag posts (`predict`, `visualize`) share: reading posts from JSONL, loading the
pipeline, and running it over the posts in input order.

Input is one JSON object a line: `{"text": ..., "image": path or null, "id": ..., "caption": ...}`
("image", "id" and "caption" are optional). Real input is messy, and one bad line must neither stop a run
nor shift the output against the input, so every line, blank or broken, becomes one `Post`: a usable one,
or one whose `error` says what is wrong. Relative image paths are read from the current folder.
"""
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Tuple

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from tqdm import tqdm


class CliError(Exception):
    """A problem that ends a command with a one-line message and exit status 1."""


@dataclass
class Post:
    """One input line: `line` is its 1-based number; a post with an `error` is not tagged."""

    line: int
    text: str = ""
    id: Any = None
    image: Optional[str] = None
    caption: Optional[str] = None
    error: Optional[str] = None


def read_posts(path: Path) -> Iterator[Post]:
    """One `Post` per line of `path`, streamed (the file may be larger than memory)."""
    with open(path, "rb") as file:
        for number, raw in enumerate(file, 1):
            yield _parse(number, raw)


def count_lines(path: Path) -> int:
    """The number of posts `read_posts` gives (a progress bar's total)."""
    with open(path, "rb") as file:
        return sum(1 for _ in file)


def _parse(number: int, raw: bytes) -> Post:
    try:
        line = raw.decode("utf8")
    except UnicodeDecodeError as error:
        return Post(number, error=f"not UTF-8 ({error})")
    if number == 1:
        line = line.lstrip("\ufeff")
    if not line.strip():
        return Post(number, error="blank line")
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        return Post(number, error=f"not JSON ({error})")
    if not isinstance(value, dict):
        return Post(number, error=f"not a JSON object but {type(value).__name__}")
    post = Post(number, id=value.get("id"))
    text, image, caption = value.get("text"), value.get("image"), value.get("caption")
    if text is None:
        post.error = 'no "text"'
    elif not isinstance(text, str):
        post.error = f'"text" is {type(text).__name__}, not a string'
    elif not text.strip():
        post.error = '"text" is empty'
    elif image is not None and (not isinstance(image, str) or not image):
        post.error = f'"image" must be a file path or null, not {image!r}'
    elif image is not None and not Path(image).is_file():
        post.error = f"image {image}: no such file"
    elif caption is not None and not isinstance(caption, str):
        post.error = f'"caption" must be a string or null, not {caption!r}'
    else:
        post.text, post.image, post.caption = text, image, caption
    return post


def report(path: Path, post: Post) -> None:
    """Tell the user on stderr about a post that has an error (without breaking a progress bar)."""
    tqdm.write(f"{path}, line {post.line}: {post.error}", file=sys.stderr)


def load_pipeline(model: str, gpu_id: int) -> Language:
    """`spacy.load(model)` on GPU `gpu_id` (-1: CPU); raises `CliError` with a one-line reason."""
    if not Path(model).exists() and not spacy.util.is_package(model):
        raise CliError(f"{model}: no such folder (nor an installed pipeline package)")
    if gpu_id >= 0:
        try:
            spacy.require_gpu(gpu_id)
        except ValueError as error:
            raise CliError(f"--gpu-id {gpu_id}: {error}") from None
    try:
        return spacy.load(model)
    except Exception as error:  # spaCy, thinc and the components raise many types for a broken folder
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CliError(f"{model}: cannot load a spaCy pipeline ({reason})") from None


def tag_posts(nlp: Language, posts: Iterable[Post], *, batch_size: int, n_process: int
              ) -> Iterator[Tuple[Post, Optional[Doc]]]:
    """`(post, doc)` for every post, in input order; `doc` is None for a post with an error.

    Posts with an error pass through `nlp.pipe` as empty docs so that the order is kept while the stream
    is processed in batches (and, with `n_process` > 1, in parallel); their docs are then dropped.
    """
    def docs() -> Iterator[Tuple[Doc, Post]]:
        for post in posts:
            doc = nlp.make_doc(post.text)
            doc._.image, doc._.image_caption = post.image, post.caption
            yield doc, post

    for doc, post in nlp.pipe(docs(), as_tuples=True, batch_size=batch_size, n_process=n_process):
        yield post, (None if post.error else doc)
