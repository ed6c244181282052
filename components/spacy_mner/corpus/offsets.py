"""Read annotation-tool exports with character offsets: Prodigy / spaCy JSONL, doccano, Label Studio.

Accepted records (one per line in `.jsonl`, or a JSON list in `.json`):
- Prodigy `ner_manual` (the spaCy ecosystem's shape): `{"text", "spans": [{"start", "end", "label"}],
  "tokens": [{"text", "start", "end", "ws"}] (optional), "image", "caption", "image_id"}`; a span may also
  be a `[start, end, label]` triple.
- doccano: `{"text", "label": [[start, end, label], ...]}` or `"entities"` (triples or `start_offset`/
  `end_offset`/`label` objects).
- Label Studio JSON export: a list of tasks `{"id", "data": {"text", "image", "caption"}, "annotations":
  [{"result": [{"type": "labels", "value": {"start", "end", "labels": [label]}}]}]}`; the first
  annotation that is not cancelled is read.

Where a record has no tokens, the tokenizer passed in makes them. A span that does not fall on token
boundaries, overlaps another, lies outside the text or has an empty label is an error naming the file and
line (item, for a JSON list): never dropped or shifted silently. A Prodigy record whose `answer` is
"reject" or "ignore" is not an annotation: it is left out, and the converter counts it. The image id is `image_id` (else `id`),
for an images folder or a captions file keyed by id; `image` is a path (relative ones are resolved by
`docbin.py`).
"""
import json
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from spacy.tokens import Doc

from .posts import CorpusFormatError, Post, Where, read_lines

CharSpan = Tuple[int, int, str]


def read_offset_posts(path: Path, make_doc: Callable[[str], Doc]) -> Iterator[Post]:
    """Yield the posts of a `.jsonl` file (one record a line) or a `.json` list of records."""
    path = Path(path)
    for where, record in _records(path):
        if not isinstance(record, dict):
            raise CorpusFormatError(path, where, f"expected a JSON object, found {type(record).__name__}")
        if isinstance(record.get("data"), dict):
            record = _from_label_studio(path, where, record)
        yield _post(path, where, record, make_doc)


def _records(path: Path) -> Iterator[Tuple[Where, Any]]:
    lines = read_lines(path)
    if lines and lines[0].lstrip().startswith("["):
        try:
            items = json.loads("\n".join(lines))
        except json.JSONDecodeError as err:
            raise CorpusFormatError(path, err.lineno, f"not valid JSON ({err.msg})") from None
        for i, item in enumerate(items, start=1):
            yield f"item {i}", item
        return
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusFormatError(path, number, f"not valid JSON ({err.msg})") from None


def _from_label_studio(path: Path, where: Where, task: Dict) -> Dict:
    """A Label Studio task as a Prodigy-shaped record."""
    data = task["data"]
    annotations = [a for a in task.get("annotations") or task.get("completions") or [] if not a.get("was_cancelled")]
    spans: List[Dict] = []
    for result in annotations[0].get("result", []) if annotations else []:
        if result.get("type") != "labels":
            continue
        value = result.get("value", {})
        labels = value.get("labels") or [""]
        if len(labels) != 1:
            raise CorpusFormatError(path, where, f"a region with {len(labels)} labels ({labels}); give it one")
        spans.append({"start": value.get("start"), "end": value.get("end"), "label": labels[0]})
    return {
        "text": data.get("text"), "spans": spans, "image": data.get("image"), "caption": data.get("caption"),
        "image_id": data.get("image_id", task.get("id")),
    }


def _char_spans(path: Path, where: Where, record: Dict) -> List[CharSpan]:
    for key in ("spans", "label", "entities"):
        if key in record:
            raw = record[key] or []
            break
    else:
        raw = []
    if not isinstance(raw, list):
        raise CorpusFormatError(path, where, "the spans must be a list")
    spans = []
    for span in raw:
        if isinstance(span, dict):
            start = span.get("start", span.get("start_offset"))
            end = span.get("end", span.get("end_offset"))
            label = span.get("label")
        elif isinstance(span, (list, tuple)) and len(span) == 3:
            start, end, label = span
        else:
            raise CorpusFormatError(path, where, f"a span must be {{start, end, label}} or [start, end, label], not {span!r}")
        if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool) or isinstance(end, bool):
            raise CorpusFormatError(path, where, f"span {span!r}: start and end must be integers")
        if not isinstance(label, str) or not label.strip():
            raise CorpusFormatError(path, where, f"span {span!r} has an empty label")
        spans.append((start, end, label))
    return spans


def _tokens(path: Path, where: Where, text: str, record: Dict, make_doc: Callable[[str], Doc]) -> Tuple[List[str], List[bool], List[int]]:
    """Words, spaces and each word's start offset: the record's own tokens, or the tokenizer's."""
    tokens = record.get("tokens")
    if not tokens:
        doc = make_doc(text)
        return [t.text for t in doc], [bool(t.whitespace_) for t in doc], [t.idx for t in doc]
    words, spaces, starts = [], [], []
    for i, token in enumerate(tokens):
        if not isinstance(token, dict) or not all(k in token for k in ("text", "start", "end")):
            raise CorpusFormatError(path, where, f"token {i + 1}: expected {{text, start, end}}, found {token!r}")
        start, end = token["start"], token["end"]
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (start, end)):
            raise CorpusFormatError(path, where, f"token {i + 1}: start and end must be integers, not {start!r}, {end!r}")
        previous_end = starts[-1] + len(words[-1]) if starts else 0
        if text[start:end] != token["text"] or not token["text"] or start < previous_end:
            raise CorpusFormatError(path, where, f"token {i + 1} {token['text']!r} is not text[{start}:{end}]")
        if text[previous_end:start].strip():  # text no token covers would vanish from the post
            raise CorpusFormatError(path, where, f"text {text[previous_end:start]!r} before token {i + 1} is in no token")
        words.append(token["text"])
        starts.append(start)
        spaces.append(bool(token.get("ws", text[end:end + 1] == " ")))
    if text[starts[-1] + len(words[-1]):].strip():
        raise CorpusFormatError(path, where, f"text {text[starts[-1] + len(words[-1]):]!r} after the last token is in no token")
    return words, spaces, starts


def _post(path: Path, where: Where, record: Dict, make_doc: Callable[[str], Doc]) -> Post:
    if record.get("answer") in ("reject", "ignore"):
        return Post(image_id=None, line=where, rejected=True)
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise CorpusFormatError(path, where, "the record has no text")
    words, spaces, starts = _tokens(path, where, text, record, make_doc)
    begins = {start: i for i, start in enumerate(starts)}
    ends = {start + len(word): i + 1 for i, (start, word) in enumerate(zip(starts, words))}
    spans = []
    previous: Optional[CharSpan] = None
    for start, end, label in sorted(_char_spans(path, where, record)):
        if start < 0 or end > len(text) or start >= end:
            raise CorpusFormatError(path, where, f"span [{start}, {end}, {label!r}] lies outside the text (length {len(text)})")
        if previous is not None and start < previous[1]:
            raise CorpusFormatError(path, where, f"span [{start}, {end}, {label!r}] overlaps [{previous[0]}, {previous[1]}, {previous[2]!r}]")
        if start not in begins or end not in ends:
            raise CorpusFormatError(
                path, where, f"span [{start}, {end}, {label!r}] {text[start:end]!r} does not fall on token boundaries"
            )
        spans.append((begins[start], ends[end], label))
        previous = (start, end, label)
    image_id = record.get("image_id", record.get("id"))
    caption = record.get("caption")
    image = record.get("image")
    return Post(
        image_id=None if image_id is None else str(image_id), words=words, spaces=spaces, spans=spans, line=where,
        image=image if isinstance(image, str) and image else None, caption=caption if isinstance(caption, str) else None,
    )
