"""Where an entity's confidence lives on a Doc: as spaCy's `spancat` keeps span scores.

`doc.spans[key]` holds the same spans as `doc.ents`, and `doc.spans[key].attrs["scores"]` a list of
Python floats aligned with them (the probability that the entity is exactly that span). `crf_ner` writes
them under its `spans_key` setting (default "ents"); apps read them with `entity_scores`.
"""
from typing import Iterable, List, Optional

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup

DEFAULT_SPANS_KEY = "ents"


def set_entity_scores(doc: Doc, key: str, ents: Iterable[Span], scores: Iterable[float]) -> None:
    """Store `ents` and their scores under `doc.spans[key]`."""
    doc.spans[key] = SpanGroup(doc, name=key, spans=list(ents), attrs={"scores": [float(s) for s in scores]})


def entity_scores(doc: Doc, key: Optional[str]) -> List[Optional[float]]:
    """The score of each of `doc.ents` (in order) from `doc.spans[key]`; None where there is none."""
    if key is None or key not in doc.spans:
        return [None] * len(doc.ents)
    group = doc.spans[key]
    scores = group.attrs.get("scores", [])
    by_span = {(span.start, span.end, span.label): score for span, score in zip(group, scores)}
    return [by_span.get((ent.start, ent.end, ent.label)) for ent in doc.ents]


def pipeline_spans_key(nlp: Language) -> Optional[str]:
    """The `spans_key` of the last component of `nlp` that scores its entities (None: no such component)."""
    keys = [getattr(proc, "spans_key", None) for _, proc in nlp.pipeline]
    return next((key for key in reversed(keys) if key is not None), None)
