"""The registered corpus reader that keeps each post's image data during `spacy train`.

spaCy's stock `Corpus` builds every predicted Doc afresh from the reference text, which drops Doc
extensions; this reader gives the predicted Doc the reference's image id, path, labels and caption. Its
predicted Docs are always made by the pipeline's tokenizer from the text (spaCy's reader keeps the corpus's
tokens when the DocBin has no whitespace, as converted Twitter-2015 files do), so that training sees the
tokens that prediction on raw posts sees (unless `gold_preproc`).
"""
from pathlib import Path
from typing import Callable, Iterable, Optional, Union

from spacy import Language, registry
from spacy.training import Corpus, Example

from ..extensions import copy_image_data


class MultimodalCorpus(Corpus):
    """spaCy's `Corpus`, with the posts' image data carried over to the predicted Docs."""

    def _make_example(self, nlp: Language, reference, gold_preproc: bool) -> Example:
        if gold_preproc:
            example = super()._make_example(nlp, reference, gold_preproc)
        else:  # the pipeline's own tokens, as `nlp(text)` will give them; the gold is aligned to them
            example = Example(nlp.make_doc(reference.text), reference)
        copy_image_data(example.reference, example.predicted)
        return example


@registry.readers("spacy_mner.MultimodalCorpus.v1")
def create_multimodal_corpus(
    path: Optional[Union[str, Path]],
    gold_preproc: bool = False,
    max_length: int = 0,
    limit: int = 0,
    augmenter: Optional[Callable] = None,
    shuffle: bool = False,
) -> Callable[[Language], Iterable[Example]]:
    """Same settings as `spacy.Corpus.v1`."""
    if path is None:
        raise ValueError("the corpus path is not set: pass --paths.train / --paths.dev")
    return MultimodalCorpus(
        path, gold_preproc=gold_preproc, max_length=max_length, limit=limit, augmenter=augmenter,
        shuffle=shuffle,
    )
