"""The tag schemes of token-level NER: tags of a label set, spans from tags, scheme detection, CRF transitions.

One module owns them so that the corpus readers (which turn a file's IOB1, IOB2 or BIOES/BILOU tags into
entity spans) and `crf_ner` (which predicts BIO tags and turns them back into spans) agree.

- `bio_tags(labels)`: the model's tag layout, O, B-L1, I-L1, B-L2, I-L2, ... (the CRF relies on it).
- `transition_mask(n_tags)`: the BIO transitions the CRF may take.
- `bio_spans(tags)`: entity spans of IOB1 or IOB2 tags. An orphan `I-X` (after `O`, after another type, or
  first) starts an entity, as conlleval, seqeval and spaCy's `iob_to_biluo` count it; under IOB1 that is
  the rule, under IOB2 the usual lenient reading, so both schemes give the same spans.
- `bioes_spans(tags)`: entity spans of BIOES (B, I, E, S) or BILOU (B, I, L, U) tags, via spaCy's own
  `tags_to_entities`; an ill-formed sequence is a `TagError`.
- `detect_scheme(tag_sequences)`: "bioes" where an E-/S-/L-/U- prefix occurs, "iob1" where entities begin
  with I- and never with B-, "iob2" otherwise.
"""
from typing import Iterable, List, Sequence, Tuple

import numpy

SCHEMES = ("iob1", "iob2", "bioes")
FORBIDDEN = -10000.0
Spans = List[Tuple[int, int, str]]


class TagError(ValueError):
    """A tag or tag sequence that the scheme does not allow, at token `index` (0-based) of the post."""

    def __init__(self, index: int, message: str):
        super().__init__(f"token {index + 1}: {message}")
        self.index = index


def bio_tags(labels: Sequence[str]) -> List[str]:
    """The tag layout of a label set: O, then B-/I- per label in the given order."""
    return ["O"] + [f"{prefix}-{label}" for label in labels for prefix in "BI"]


def transition_mask(n_tags: int) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """(start, transitions) additive masks of the `bio_tags` layout: 0 where allowed, FORBIDDEN where BIO forbids."""
    start = numpy.zeros(n_tags, dtype="float32")
    trans = numpy.zeros((n_tags, n_tags), dtype="float32")
    for inside in range(2, n_tags, 2):  # I-X; B-X is inside - 1
        start[inside] = FORBIDDEN
        trans[:, inside] = FORBIDDEN
        trans[inside - 1, inside] = trans[inside, inside] = 0.0
    return start, trans


def split_tag(tag: str, index: int = 0) -> Tuple[str, str]:
    """(prefix, label) of a tag: ("O", "") for O, ("B", "PER") for B-PER; a `TagError` for anything else."""
    if tag == "O":
        return "O", ""
    prefix, sep, label = tag.partition("-")
    if not sep or len(prefix) != 1 or not label.strip():
        raise TagError(index, f"tag {tag!r} is neither O nor PREFIX-TYPE (e.g. B-PER)")
    return prefix, label


def bio_spans(tags: Sequence[str]) -> Spans:
    """(start, end, label) token spans of IOB1/IOB2 tags; an orphan I- tag starts an entity."""
    spans: Spans = []
    start, label = None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, kind = tag.partition("-")
        if label is not None and (prefix != "I" or kind != label):
            spans.append((start, i, label))
            start, label = None, None
        if prefix == "B" or (prefix == "I" and label is None):
            start, label = i, kind
    return spans


def bioes_spans(tags: Sequence[str]) -> Spans:
    """(start, end, label) token spans of BIOES or BILOU tags; a `TagError` for an ill-formed sequence."""
    from spacy.training.iob_utils import tags_to_entities

    biluo = [{"E": "L", "S": "U"}.get(tag[:1], tag[:1]) + tag[1:] if tag != "O" else tag for tag in tags]
    for i, tag in enumerate(biluo):
        prefix, label = split_tag(tag, i)
        if prefix not in "OBILU":
            raise TagError(i, f"tag {tags[i]!r} is not BIOES/BILOU")
        if prefix in "IL" and (i == 0 or biluo[i - 1][:1] not in "BI" or biluo[i - 1][2:] != label):
            raise TagError(i, f"{tags[i]!r} does not continue a B-/I- of the same type")
        follows = biluo[i + 1] if i + 1 < len(biluo) else "O"
        if prefix in "BI" and follows[:1] not in "IL" or prefix in "BI" and follows[2:] != label:
            raise TagError(i, f"{tags[i]!r} is not followed by I-/E- of the same type")
    return [(start, end + 1, label) for label, start, end in tags_to_entities(biluo)]


def spans_of(tags: Sequence[str], scheme: str) -> Spans:
    """Entity spans of one post's tags under `scheme` (see SCHEMES)."""
    if scheme == "bioes":
        return bioes_spans(tags)
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}; choose from {', '.join(SCHEMES)}")
    for i, tag in enumerate(tags):
        prefix, _ = split_tag(tag, i)
        if prefix not in "OBI":
            raise TagError(i, f"tag {tag!r} is not {scheme.upper()} (B-, I- or O); try --scheme bioes")
    return bio_spans(tags)


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
    """The scheme the tags are written in: bioes, iob1 or iob2 (see the module docstring)."""
    begins_with_b = begins_with_i = 0
    for tags in tag_sequences:
        previous = "O"
        for tag in tags:
            prefix, label = tag[:1], tag[2:]
            if prefix in "ESLU" and tag != "O":
                return "bioes"
            if prefix in "BI" and (previous[:1] not in "BI" or previous[2:] != label):
                begins_with_b += prefix == "B"
                begins_with_i += prefix == "I"
            previous = tag
    return "iob1" if begins_with_i and not begins_with_b else "iob2"
