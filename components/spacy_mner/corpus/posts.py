"""What every corpus reader yields (a `Post`), the error it raises, and the inputs all formats share.

A reader turns one file format into `Post`s: the tokens, their tags as written (tag formats) or the
entities as token spans (character-offset formats), and the post's image id, image path and caption.
`docbin.py` turns posts into Docs the same way for every format, so the same posts written in different
formats give identical DocBins. Every problem is a `CorpusFormatError` naming the file and line.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

Where = Union[int, str, None]  # a line number, another place ("item 3" of a JSON list) or the whole file


class CorpusFormatError(ValueError):
    """A corpus file that does not follow the expected format, with the file and line at fault."""

    def __init__(self, path: Path, line: Where, message: str):
        if line is None:
            where = str(path)
        elif isinstance(line, int):
            where = f"{path}, line {line}"
        else:
            where = f"{path}, {line}"
        super().__init__(f"{where}: {message}")


@dataclass
class Post:
    """One post as a corpus file gives it, before it becomes a Doc."""

    image_id: Optional[str]
    words: List[str] = field(default_factory=list)
    line: Where = 0  # where the post starts, for messages
    tags: List[str] = field(default_factory=list)  # tag formats: one tag per word, as written
    tag_lines: List[int] = field(default_factory=list)  # tag formats: the line of each word
    spaces: Optional[List[bool]] = None  # None: a space after every word (tag formats give none)
    spans: Optional[List[Tuple[int, int, str]]] = None  # offset formats: (start, end, label) token spans
    image: Optional[str] = None  # a path the file gives for the post's image
    caption: Optional[str] = None  # a caption the file gives
    rejected: bool = False  # an annotation tool's rejected or ignored record (Prodigy's "answer"): not converted


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
