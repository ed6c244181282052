"""Reading the posts an app tags from JSONL, one `JsonlPost` per line.

Input is one JSON object a line: `{"text": ..., "image": path or null, "id": ..., "caption": ...}`
("image", "id" and "caption" are optional). Real input is messy, and one bad line must neither stop a run
nor shift the output against the input, so every line, blank or broken, becomes one `JsonlPost`: a usable
one, or one whose `error` says what is wrong. Relative image paths are read from the current folder; an
image that cannot be used (missing, undecodable) does not make an error: the post is tagged from its text
and the `image_labels` component says why (`doc._.image_error`).
"""
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from tqdm import tqdm


@dataclass
class JsonlPost:
    """One input line: `line` is its 1-based number (`unit` says of what: a line, or a Parquet row); a
    post with an `error` is not tagged."""

    line: int
    text: str = ""
    id: Any = None
    image: Optional[str] = None
    caption: Optional[str] = None
    error: Optional[str] = None
    unit: str = "line"

    @property
    def name(self) -> str:
        """How messages name the post: its line, and its id where it has one."""
        return f"{self.unit} {self.line}" + ("" if self.id is None else f" (id {self.id})")


def read_jsonl_posts(path: Path, *, skip: int = 0) -> Iterator[JsonlPost]:
    """One `JsonlPost` per line of `path` after the first `skip` lines (which are not parsed), streamed."""
    with open(path, "rb") as file:
        for number, raw in enumerate(file, 1):
            if number > skip:
                yield parse_line(number, raw)


def count_lines(path: Path) -> int:
    """The number of posts `read_jsonl_posts` gives (a progress bar's total)."""
    with open(path, "rb") as file:
        return sum(1 for _ in file)


def parse_line(number: int, raw: bytes) -> JsonlPost:
    """Input line `number` (1-based) as a post, or as a post whose `error` says why it cannot be one."""
    try:
        line = raw.decode("utf8")
    except UnicodeDecodeError as error:
        return JsonlPost(number, error=f"not UTF-8 ({error})")
    if number == 1:
        line = line.lstrip("\ufeff")
    if not line.strip():
        return JsonlPost(number, error="blank line")
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        return JsonlPost(number, error=f"not JSON ({error})")
    except RecursionError:  # json's decoder recurses once per nesting level
        return JsonlPost(number, error="not usable JSON (nested too deeply)")
    if not isinstance(value, dict):
        return JsonlPost(number, error=f"not a JSON object but {type(value).__name__}")
    post = JsonlPost(number, id=value.get("id"))
    text, image, caption = value.get("text"), value.get("image"), value.get("caption")
    if text is None:
        post.error = 'no "text"'
    elif not isinstance(text, str):
        post.error = f'"text" is {type(text).__name__}, not a string'
    elif not text.strip():
        post.error = '"text" is empty'
    elif image is not None and (not isinstance(image, str) or not image):
        post.error = f'"image" must be a file path or null, not {image!r}'
    elif caption is not None and not isinstance(caption, str):
        post.error = f'"caption" must be a string or null, not {caption!r}'
    else:
        post.text, post.image, post.caption = text, image, caption
    return post


def report(path: Path, post: JsonlPost, message: Optional[str] = None) -> None:
    """Tell the user on stderr about a post (`message`, by default its error) without breaking a progress bar."""
    tqdm.write(f"{path}, {post.name}: {message or post.error}", file=sys.stderr)
