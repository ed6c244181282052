"""The `image_labels` pipeline component: the top ImageNet classes of each post's image.

The paper's models (CWI, MSB) read a post's image as words: the names of the top-5 ImageNet classes an
image classifier gives it. This component computes them inside a spaCy pipeline, so that a pipeline
labels raw posts itself and `spacy train` / `spacy evaluate` see the same words. It reads `doc._.image`
(a path, bytes or PIL image) and writes `doc._.image_labels`: `[(class name, probability), ...]`, most
probable first, `top_k` long, or `[]` for a post without a usable image (a warning names unusable ones,
and `doc._.image_error` keeps the reason, so that an app can report it with the post).
A doc whose `image_labels` are already set (e.g. computed once by `python -m spacy_mner label-images`
and stored in the DocBin) is left as it is, so training never reruns the classifier.

It is not trainable and stores nothing: the classifier's weights come from an installed package or from
the file its config names, so a pipeline saved with `nlp.to_disk` reloads with `spacy.load` offline.
"""
import warnings
from typing import Iterable, Iterator, List, Optional

import numpy
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc
from spacy.util import minibatch
from thinc.api import CupyOps, get_current_ops

from ..extensions import ImageLabels
from .classifiers import ImageClassifier
from .images import ImageWarning, read_image


@Language.factory(
    "image_labels",
    default_config={
        "classifier": {"@misc": "spacy_mner.efficientnet_lite0.v1"},
        "top_k": 5,
        "batch_size": 32,
    },
)
def make_image_labeler(nlp: Language, name: str, classifier: ImageClassifier, top_k: int, batch_size: int) -> "ImageLabeler":
    """Build the `image_labels` component.

    classifier: a registered `ImageClassifier` (`spacy_mner.efficientnet_lite0.v1`,
        `spacy_mner.inception_v3.v1`); its network is built on first use, not here.
    top_k: how many classes to keep per image.
    batch_size: how many images `pipe` decodes and classifies at once (bounds memory).
    """
    return ImageLabeler(nlp.vocab, classifier, name=name, top_k=top_k, batch_size=batch_size)


class ImageLabeler(Pipe):
    """Writes `doc._.image_labels` from `doc._.image` with an ImageNet classifier (see the module doc)."""

    def __init__(self, vocab, classifier: ImageClassifier, *, name: str = "image_labels", top_k: int = 5,
                 batch_size: int = 32) -> None:
        if top_k < 1 or batch_size < 1:
            raise ValueError(f"image_labels: top_k and batch_size must be >= 1, not {top_k} and {batch_size}")
        self.vocab = vocab
        self.classifier = classifier
        self.name = name
        self.top_k = top_k
        self.batch_size = batch_size
        self._device: Optional[str] = None

    def __call__(self, doc: Doc) -> Doc:
        self._label([doc], [_post_name(doc, None)])
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: Optional[int] = None) -> Iterator[Doc]:
        """Label `stream`'s docs, at most `self.batch_size` images at a time (fewer if `batch_size`,
        the number of docs the caller buffers, is smaller)."""
        size = min(batch_size or self.batch_size, self.batch_size)
        error_handler = self.get_error_handler()
        index = 0
        for docs in minibatch(stream, size):
            try:
                self._label(docs, [_post_name(doc, index + i) for i, doc in enumerate(docs)])
                yield from docs
            except Exception as error:  # as spaCy's own components: the pipeline's error handler decides
                error_handler(self.name, self, docs, error)
            index += len(docs)

    def _label(self, docs: List[Doc], names: List[str]) -> None:
        """Set `image_labels` on the docs that have none yet, with one classifier call."""
        todo, images = [], []
        for doc, name in zip(docs, names):
            if doc._.image_labels is not None:
                continue
            image, problem = read_image(doc._.image, name)
            doc._.image_error = problem
            if problem is not None:
                warnings.warn(f"post {name}: {problem}; it gets no image labels", ImageWarning)
            if image is None:
                doc._.image_labels = []
            else:
                todo.append(doc)
                images.append(image)
        if not images:
            return
        self._use_spacy_device()
        for doc, probs in zip(todo, self.classifier.predict(images)):
            doc._.image_labels = self._top(probs)

    def _top(self, probs: numpy.ndarray) -> ImageLabels:
        best = numpy.argsort(-probs, kind="stable")[: self.top_k]
        return [(self.classifier.labels[i], float(probs[i])) for i in best]

    def _use_spacy_device(self) -> None:
        """Move the classifier to the GPU spaCy uses (after `spacy.require_gpu(id)`), else the CPU."""
        device = "cpu"
        if isinstance(get_current_ops(), CupyOps):
            import torch

            device = f"cuda:{torch.cuda.current_device()}"  # thinc's require_gpu sets torch's device
        if device != self._device:
            self.classifier.to(device)
            self._device = device

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        """Nothing to store: the config rebuilds the component, the weights come from their source."""
        return b""

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "ImageLabeler":
        return self

    def to_disk(self, path, *, exclude: Iterable[str] = tuple()) -> None:
        """Nothing to store (see `to_bytes`); writes no files."""

    def from_disk(self, path, *, exclude: Iterable[str] = tuple()) -> "ImageLabeler":
        return self


def _post_name(doc: Doc, index: Optional[int]) -> str:
    """How warnings name a post: its image id, else its position in the stream, else its first words."""
    if doc._.image_id is not None:
        return f"image id {doc._.image_id}"
    if index is not None:
        return f"doc {index}"
    return repr(doc.text[:40])
