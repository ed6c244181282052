"""`crf_ner`: a trainable entity recognizer whose output layer is a linear-chain CRF.

spaCy's own `ner` hosts only transition-based models, so the paper's BiLSTM-CRF (CWI) and BERT-CRF (MSB)
need a component of their own. Any architecture that maps `List[Doc]` to one row of tag scores per token
(docs concatenated) and names its last layer `output_layer` fits; the component sizes that layer from the
labels it finds at initialize, trains with the CRF's negative log-likelihood (or per-token softmax
cross-entropy when `use_crf` is off, the paper's no-CRF variants), decodes with Viterbi, and sets
`doc.ents`. A trained component (sourced by a second training stage) moves to another corpus's labels with
`relabel`, keeping the rows of the labels both share (see `relabel.py`). Each entity gets a confidence,
stored as spancat stores span scores (see `confidence.py`): the CRF's probability that the entity is
exactly that span, or, without the CRF, the product of its tokens' tag probabilities; `spans_key: null`
turns the scores off. With `cross_view_weight` > 0, posts with image words also train as their text
alone, with a KL term between the two views (see `cross_view.py`).
Scoring is spaCy's NER scorer, so `spacy train` and `spacy evaluate` report ents_p/r/f and
ents_per_type as for any NER component.
"""
from itertools import islice
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy
from spacy import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_examples
from spacy.util import logger
from spacy.vocab import Vocab
from thinc.api import Model, Optimizer, chain
from thinc.types import Floats2d

from ..tags import bio_spans, bio_tags
from .confidence import DEFAULT_SPANS_KEY, set_entity_scores
from .crf import crf_decode, crf_layer, crf_loss, crf_span_probabilities
from .cross_view import CROSS_VIEW_PULLS, cross_view_kl, has_image_words, text_view
from .relabel import LabelChange, plan_label_change, resize_tag_layer

DEFAULT_MODEL = {"@architectures": "spacy_mner.CWI.v1"}
PREDICT_GROUP = 64
# what `predict` gives per doc: the tag ids, and the score of each entity they make (None: not scored)
DocTags = Tuple[List[int], Optional[List[float]]]


def _length_groups(docs: List[Doc]) -> Iterator[List[int]]:
    """Indices of `docs` in groups of up to `PREDICT_GROUP` docs of similar length."""
    order = sorted(range(len(docs)), key=lambda i: len(docs[i]))
    for start in range(0, len(order), PREDICT_GROUP):
        yield order[start:start + PREDICT_GROUP]


@Language.factory(
    "crf_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type", "doc.spans"],
    default_config={
        "model": DEFAULT_MODEL, "use_crf": True, "crf_learn_rate_scale": 1.0, "spans_key": DEFAULT_SPANS_KEY,
        "cross_view_weight": 0.0, "cross_view_pull": "both", "scorer": {"@scorers": "spacy.ner_scorer.v1"},
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_crf_ner(
    nlp: Language, name: str, model: Model, use_crf: bool, crf_learn_rate_scale: float, spans_key: Optional[str],
    cross_view_weight: float, cross_view_pull: str, scorer: Optional[Callable],
) -> "CRFEntityRecognizer":
    return CRFEntityRecognizer(nlp.vocab, model, name, use_crf=use_crf, crf_learn_rate_scale=crf_learn_rate_scale,
                               spans_key=spans_key, cross_view_weight=cross_view_weight,
                               cross_view_pull=cross_view_pull, scorer=scorer)


def corpus_labels(examples: Iterable[Example]) -> List[str]:
    """The entity types of the examples' reference docs, sorted: the labels `crf_ner` learns."""
    return sorted({ent.label_ for eg in examples for ent in eg.reference.ents})


class CRFEntityRecognizer(TrainablePipe):
    """Tag scores from `model`, then a CRF (or softmax) over BIO tags; sets `doc.ents`.

    `crf_learn_rate_scale`: how many times faster than `model`'s weights the CRF's scores learn (see `crf.py`).
    `spans_key`: where the entities' scores go (`doc.spans[spans_key].attrs["scores"]`); None: not computed.
    `cross_view_weight`: weight of the KL term between a post's two views in training; 0: one view.
    `cross_view_pull`: which views the KL term trains: "both", or "text" (the multimodal view is its teacher).
    `self.model.get_ref("tag_scores")` is `model`, without the CRF.
    """

    def __init__(
        self, vocab: Vocab, model: Model, name: str = "ner", *, use_crf: bool = True, crf_learn_rate_scale: float = 1.0,
        spans_key: Optional[str] = DEFAULT_SPANS_KEY, cross_view_weight: float = 0.0, cross_view_pull: str = "both",
        scorer: Optional[Callable] = None,
    ):
        if cross_view_weight < 0:
            raise ValueError(f"[{name}] cross_view_weight must be >= 0, not {cross_view_weight}")
        if cross_view_pull not in CROSS_VIEW_PULLS:
            raise ValueError(f"[{name}] cross_view_pull must be one of {CROSS_VIEW_PULLS}, not {cross_view_pull!r}")
        self.vocab = vocab
        self.name = name
        self.model = chain(model, crf_layer(crf_learn_rate_scale)) if use_crf else model
        self.model.set_ref("tag_scores", model)
        self.cfg: Dict = {"labels": [], "use_crf": use_crf}
        self.scorer = scorer
        self.spans_key = spans_key
        self.cross_view_weight = cross_view_weight
        self.cross_view_pull = cross_view_pull

    @property
    def labels(self) -> List[str]:
        return list(self.cfg["labels"])

    @property
    def tags(self) -> List[str]:
        return bio_tags(self.labels)

    @property
    def _crf(self) -> Optional[Model]:
        return self.model.layers[-1] if self.cfg["use_crf"] else None

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None, labels: Optional[List[str]] = None) -> None:
        """Infer the labels from the training data (unless given) and size the output layers."""
        validate_examples(get_examples(), "CRFEntityRecognizer.initialize")
        if labels is None:
            labels = corpus_labels(get_examples())
        if not labels:
            raise ValueError(f"[{self.name}] the training data has no entities: nothing to learn")
        self.cfg["labels"] = list(labels)
        self.cfg["confidence_temperature"] = 1.0  # a new model's scores are not calibrated yet
        n_tags = len(self.tags)
        self.model.get_ref("tag_scores").get_ref("output_layer").set_dim("nO", n_tags)
        if self._crf is not None:
            self._crf.set_dim("nO", n_tags)
        sample = [eg.predicted for eg in islice(get_examples(), 16)]
        self.model.initialize(X=sample)

    def relabel(self, labels: Sequence[str], *, label_map: Optional[Dict[str, str]] = None) -> LabelChange:
        """Move a trained component to other labels (a second training stage's corpus's): the output layer
        and the CRF are re-made for the new tags; a label it shares with the current ones (or that
        `label_map`, old -> new, carries over) keeps its trained rows, the others start fresh, current
        labels not in `labels` are dropped; the rest of the model keeps its weights (see `relabel.py`).
        The entity confidences' temperature goes back to 1 (uncalibrated). Logs what changed."""
        if not self.labels:
            raise ValueError(f"[{self.name}] has no labels yet: initialize it instead")
        if not labels:
            raise ValueError(f"[{self.name}] the training data has no entities: nothing to learn")
        sources, change, notes = plan_label_change(self.labels, labels, label_map)
        for note in notes:
            logger.warning("[%s] %s", self.name, note)
        if sources == list(range(len(self.tags))):
            return change
        output = self.model.get_ref("tag_scores").get_ref("output_layer")
        resize_tag_layer(output, sources, {name: (0,) for name in output.param_names})
        if self._crf is not None:
            resize_tag_layer(self._crf, sources, {"start": (0,), "end": (0,), "transitions": (0, 1)})
        self.cfg["labels"] = list(labels)
        self.cfg["confidence_temperature"] = 1.0  # a re-made output layer's scores are not calibrated
        logger.warning("[%s] labels changed to the training data's (%s): %s", self.name, ", ".join(labels), change.describe())
        return change

    def predict(self, docs: Iterable[Doc]) -> List[DocTags]:
        """Tag ids per doc, and their entities' scores. Docs are run in groups of similar length (`PREDICT_GROUP` at a time), so the
        recurrent layers and encoders pad each group to its own longest doc, not the batch's."""
        docs = list(docs)
        paths: List[DocTags] = [([], []) for _ in docs]
        for group in _length_groups(docs):
            for i, path in zip(group, self._predict_group([docs[i] for i in group])):
                paths[i] = path
        return paths

    def _predict_group(self, docs: List[Doc]) -> List[DocTags]:
        lengths = [len(doc) for doc in docs if len(doc)]
        if not lengths:
            return [([], []) for _ in docs]
        scores = self.model.predict(docs)
        paths = self._decode(scores, lengths)
        ent_scores = iter(self._entity_scores(scores, lengths, paths))
        paths_iter = iter(paths)
        return [(next(paths_iter), next(ent_scores)) if len(doc) else ([], []) for doc in docs]

    def _decode(self, scores: Floats2d, lengths: List[int]) -> List[List[int]]:
        if self._crf is not None:
            return crf_decode(self._crf, scores, lengths)
        best = self.model.ops.to_numpy(scores.argmax(axis=1)).tolist()
        starts = numpy.cumsum([0] + lengths)
        return [best[s:e] for s, e in zip(starts[:-1], starts[1:])]

    def entity_scores_at(self, docs: List[Doc], temperatures: Sequence[float]
                         ) -> Tuple[List[List[Tuple[int, int, str]]], List[List[List[float]]]]:
        """Each doc's entities (token start, end, label) as this one model pass finds them, and for each
        temperature their scores (no temperature changes the entities): what fitting the temperature needs.
        The entities come from this pass, not from `doc.ents`: another component may have changed those, and
        bfloat16 prediction may find a borderline entity differently when the posts are grouped otherwise."""
        entities: List[List[Tuple[int, int, str]]] = [[] for _ in docs]
        out: List[List[List[float]]] = [[[] for _ in docs] for _ in temperatures]
        for group in _length_groups(docs):
            group = [i for i in group if len(docs[i])]
            if not group:
                continue
            lengths = [len(docs[i]) for i in group]
            scores = self.model.predict([docs[i] for i in group])
            paths = self._decode(scores, lengths)
            for i, path in zip(group, paths):
                entities[i] = bio_spans([self.tags[t] for t in path])
            for t, temperature in enumerate(temperatures):
                for i, doc_scores in zip(group, self._entity_scores(scores, lengths, paths, temperature)):
                    out[t][i] = doc_scores or []
        return entities, out

    @property
    def confidence_temperature(self) -> float:
        """What the entity scores' model scores are divided by (fitted on dev by `spacy_mner calibrate`)."""
        return float(self.cfg.get("confidence_temperature", 1.0))

    def _entity_scores(self, scores: Floats2d, lengths: List[int], paths: List[List[int]],
                       temperature: Optional[float] = None) -> List[Optional[List[float]]]:
        """Each entity's confidence (see the module docstring) at `temperature` (default: the fitted one),
        per doc with tokens; None when off."""
        if self.spans_key is None:
            return [None] * len(paths)
        temperature = self.confidence_temperature if temperature is None else temperature
        tags, index = self.tags, {tag: i for i, tag in enumerate(self.tags)}
        spans = [[(s, e, index[f"B-{label}"]) for s, e, label in bio_spans([tags[i] for i in path])] for path in paths]
        if self._crf is not None:
            return crf_span_probabilities(self._crf, scores, lengths, spans, temperature)
        probs = self.model.ops.to_numpy(self.model.ops.softmax(scores / temperature))
        out, offset = [], 0
        for length, path, doc_spans in zip(lengths, paths, spans):
            rows = probs[offset:offset + length]
            out.append([float(numpy.prod(rows[numpy.arange(s, e), path[s:e]])) for s, e, _ in doc_spans])
            offset += length
        return out

    def set_annotations(self, docs: Iterable[Doc], predictions: List[DocTags]) -> None:
        tags = self.tags
        for doc, (ids, ent_scores) in zip(docs, predictions):
            names = [tags[i] for i in ids]
            ents = [Span(doc, s, e, label=label) for s, e, label in bio_spans(names)]
            doc.set_ents(ents, default="outside")
            if self.spans_key is not None and ent_scores is not None:
                set_entity_scores(doc, self.spans_key, ents, ent_scores)

    @staticmethod
    def _gold(example: Example, index: Dict[str, int]) -> List[int]:
        """Gold tag ids of the predicted tokens, through spaCy's alignment of the two tokenizations.

        An entity covers every predicted token that overlaps one of its gold tokens (a gold `#Blackhawks`
        split by the tokenizer into `#` `Blackhawks` gives B-X I-X; a predicted token that straddles the
        entity's edge joins it), unless that would overlap an earlier entity; tokens outside entities are O.
        A label the component was not initialized with (e.g. a sourced component trained further on a corpus
        with other types) is an error: tagging it O would silently teach the model that it is no entity.
        """
        ids = [0] * len(example.predicted)
        y2x = example.alignment.y2x
        for ent in example.reference.ents:
            tokens = [int(i) for t in range(ent.start, ent.end) for i in y2x[t]]
            if f"B-{ent.label_}" not in index:
                labels = sorted({tag[2:] for tag in index if tag != "O"})
                raise ValueError(
                    f"[crf_ner] the training data has entity type {ent.label_!r}, which this component was "
                    f"not initialized with (its labels: {', '.join(labels)}); initialize it on this corpus, give a "
                    "sourced component the corpus's labels with `[initialize.after_init] @callbacks = "
                    "\"spacy_mner.relabel_sourced.v1\"` (as configs/msb_crf_stage2.cfg does), "
                    "or rename the type with `convert --rename`"
                )
            if not tokens:
                continue
            start, end = min(tokens), max(tokens) + 1
            if any(ids[start:end]):
                continue
            ids[start:end] = [index[f"B-{ent.label_}"]] + [index[f"I-{ent.label_}"]] * (end - start - 1)
        return ids

    def get_loss(self, examples: Iterable[Example], scores: Floats2d, n_docs: Optional[int] = None):
        """Loss and gradient for the scores, summed over the docs and divided by `n_docs` (default: the number
        of docs with tokens); with the CRF, also adds the CRF's own gradients."""
        examples = [eg for eg in examples if len(eg.predicted)]
        lengths = [len(eg.predicted) for eg in examples]
        index = {tag: i for i, tag in enumerate(self.tags)}
        gold = [self._gold(eg, index) for eg in examples]
        if not lengths:
            return 0.0, scores
        if self._crf is not None:
            return crf_loss(self._crf, scores, lengths, gold, n_docs)
        truth = self.model.ops.asarray1i([i for g in gold for i in g])
        probs = self.model.ops.softmax(scores)
        d_scores = probs.copy()
        d_scores[self.model.ops.xp.arange(len(truth)), truth] -= 1
        loss = -self.model.ops.xp.log(probs[self.model.ops.xp.arange(len(truth)), truth] + 1e-9).sum()
        n_docs = n_docs or len(lengths)
        return float(loss) / n_docs, d_scores / n_docs

    def update(self, examples: Iterable[Example], *, drop: float = 0.0, sgd: Optional[Optimizer] = None, losses: Optional[Dict[str, float]] = None) -> Dict[str, float]:
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "CRFEntityRecognizer.update")
        if not any(len(eg.predicted) for eg in examples):
            return losses
        scores, backprop = self.model.begin_update([eg.predicted for eg in examples])
        loss, d_scores = self.get_loss(examples, scores)
        if self.cross_view_weight > 0:
            loss += self._update_text_view(examples, scores, d_scores)
        backprop(d_scores)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def _update_text_view(self, examples: List[Example], scores: Floats2d, d_scores: Floats2d) -> float:
        """Train the text view of the posts with image words (gold loss + KL to their multimodal view);
        adds the KL's gradient for the multimodal scores to `d_scores` unless only the text view is pulled;
        the two views' extra loss."""
        starts = numpy.cumsum([0] + [len(eg.predicted) for eg in examples])
        chosen = [i for i, eg in enumerate(examples) if len(eg.predicted) and has_image_words(eg.predicted)]
        if not chosen:
            return 0.0
        n_docs = sum(1 for eg in examples if len(eg.predicted))  # both views' losses are means over the batch
        text_examples = [Example(text_view(examples[i].predicted), examples[i].reference) for i in chosen]
        text_scores, backprop_text = self.model.begin_update([eg.predicted for eg in text_examples])
        loss, d_text = self.get_loss(text_examples, text_scores, n_docs)
        rows = self.model.ops.asarray1i(numpy.concatenate([numpy.arange(starts[i], starts[i + 1]) for i in chosen]))
        kl, d_kl_multimodal, d_kl_text = cross_view_kl(self.model.ops, scores[rows], text_scores)
        weight = self.cross_view_weight / n_docs
        if self.cross_view_pull == "both":
            d_scores[rows] += weight * d_kl_multimodal
        backprop_text(d_text + weight * d_kl_text)
        return loss + weight * kl

    def add_label(self, label: str) -> int:
        raise NotImplementedError(f"[{self.name}] labels are inferred from the training data at initialize")
