"""Multimodal `nlp.evaluate`, so that `python -m spacy evaluate` sees each post's image data.

`spacy evaluate` hard-codes spaCy's stock `Corpus`, whose predicted Docs are rebuilt from the text and so
lose the image path, labels and caption that the DocBin holds in its reference Docs. Every pipeline this
package trains names this callback as `[nlp.after_pipeline_creation]`, so whenever the pipeline is built
or loaded (`spacy.load`, `spacy train`, `spacy evaluate`, a packaged wheel) its `evaluate` first copies
each reference Doc's image data to the predicted Doc that lacks it, then scores as spaCy does.
Nothing else of spaCy's behaviour changes; predicted Docs that already carry image data keep it.
"""
from types import MethodType
from typing import Callable, Iterable

from spacy import Language, registry
from spacy.training import Example

from ..extensions import copy_image_data


def _multimodal_evaluate(nlp: Language, examples: Iterable[Example], **kwargs):
    examples = list(examples)
    for eg in examples:
        copy_image_data(eg.reference, eg.predicted)
    return type(nlp).evaluate(nlp, examples, **kwargs)


@registry.callbacks("spacy_mner.multimodal_evaluate.v1")
def make_multimodal_evaluate() -> Callable[[Language], Language]:
    def after_pipeline_creation(nlp: Language) -> Language:
        nlp.evaluate = MethodType(_multimodal_evaluate, nlp)
        return nlp

    return after_pipeline_creation
