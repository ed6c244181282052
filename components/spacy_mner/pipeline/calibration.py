"""Calibrated entity confidences: a temperature fitted on dev, and the reliability measures that judge it.

A CRF's span probabilities come out over-confident after training (on Twitter-2015 test, CWI's entities
scored 0.9-1.0 were right 89% of the time at a mean score of 0.97). Temperature scaling (Guo et al., 2017)
divides every CRF score, tag scores and transitions, by one number T fitted on held-out data: the Viterbi
path, hence every predicted entity, stays the same; only the confidences change. T is chosen on dev to
minimise the log loss of "this entity is exactly right" (same span and label as a gold entity) and is
saved in `crf_ner`'s cfg, so `nlp(text)`, `predict`, `serve` and `visualize` give the calibrated scores.
"""
import math
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import Doc

from .confidence import pipeline_spans_key

# candidate temperatures: 0.25 to 8, evenly spaced in log scale (about 6% apart)
TEMPERATURES = tuple(float(t) for t in numpy.exp(numpy.linspace(math.log(0.25), math.log(8.0), 61)))


class NothingToCalibrate(ValueError):
    """The pipeline predicts no entity on the dev posts, so their scores say nothing about a temperature."""


@dataclass
class TemperatureFit:
    temperature: float
    entities: int
    log_loss_before: float
    log_loss_after: float
    ece_before: float
    ece_after: float


def confidence_component(nlp: Language):
    """The pipeline's `crf_ner` that writes entity scores (an error where there is none)."""
    from .crf_ner import CRFEntityRecognizer

    key = pipeline_spans_key(nlp)
    for _, pipe in nlp.pipeline:
        if isinstance(pipe, CRFEntityRecognizer) and pipe.spans_key == key and key is not None:
            return pipe
    raise ValueError("the pipeline has no crf_ner that writes entity scores (spans_key is null or no crf_ner)")


def reliability(entities: Sequence[Tuple[float, bool]], bins: int = 10) -> Tuple[List[Tuple[float, float, int, float, float]], float]:
    """Rows (bin low, bin high, entities, mean score, share exactly right) of the non-empty score bins, and
    the expected calibration error: the entity-weighted mean of |share right - mean score| over the bins."""
    rows, ece = [], 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [(s, ok) for s, ok in entities if low <= s < high or (b == bins - 1 and s == 1.0)]
        if not members:
            continue
        confidence = sum(s for s, _ in members) / len(members)
        accuracy = sum(ok for _, ok in members) / len(members)
        rows.append((low, high, len(members), confidence, accuracy))
        ece += len(members) / len(entities) * abs(accuracy - confidence)
    return rows, ece


def _log_loss(scores: Sequence[float], right: Sequence[bool]) -> float:
    p = numpy.clip(numpy.asarray(scores, dtype="float64"), 1e-6, 1 - 1e-6)
    y = numpy.asarray(right, dtype=bool)
    return float(-numpy.mean(numpy.where(y, numpy.log(p), numpy.log(1 - p))))


def fit_temperature(nlp: Language, predicted: List[Doc], golds: List[Doc]) -> TemperatureFit:
    """Fit the entity scores' temperature on `golds` (dev Docs with entities) and set it in the pipeline.
    `predicted`: the same posts as the pipeline made them (`nlp.pipe` of their corpus tokens, so that their
    image words are there); the entities judged are crf_ner's own, from one pass over them."""
    ner = confidence_component(nlp)
    before = ner.confidence_temperature
    candidates = (before, *TEMPERATURES)
    entities, per_temperature = ner.entity_scores_at(predicted, candidates)
    right = []
    for doc, doc_entities, gold in zip(predicted, entities, golds):
        truth = {(ent.start_char, ent.end_char, ent.label_) for ent in gold.ents}
        right.extend((doc[s:e].start_char, doc[s:e].end_char, label) in truth for s, e, label in doc_entities)
    if not right:
        raise NothingToCalibrate("the pipeline predicts no entity on these posts: nothing to calibrate")
    flat = [[s for doc_scores in per_t for s in doc_scores] for per_t in per_temperature]
    losses = [_log_loss(scores, right) for scores in flat]
    best = int(numpy.argmin(losses))
    ner.cfg["confidence_temperature"] = candidates[best]
    return TemperatureFit(
        temperature=candidates[best], entities=len(right), log_loss_before=losses[0], log_loss_after=losses[best],
        ece_before=reliability(list(zip(flat[0], right)))[1], ece_after=reliability(list(zip(flat[best], right)))[1],
    )
