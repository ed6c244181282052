"""The Doc extensions that carry a post's image signal through a spaCy pipeline.

They live in one place so that the corpus reader, the `image_labels` component and the models agree on
names. All values are plain Python data (strings, lists, tuples) so that a DocBin stores them.
"""
from typing import List, Tuple

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Doc

# name -> default. `image_labels` stays None until a classifier has looked at the post; an empty list
# means "looked, nothing to report" (no image, or an unreadable one).
DOC_EXTENSIONS = {
    "image_id": None,  # str: the id the corpus gives the post's image
    "image": None,  # str path, PIL.Image.Image or bytes; only a path survives a DocBin
    "image_labels": None,  # List[Tuple[str, float]]: top-k ImageNet classes, most probable first
    "image_caption": None,  # str: a caption of the image, where the corpus has one
    "image_error": None,  # str: why `image_labels` could not use the post's image (None: no problem)
}


def register_extensions() -> None:
    """Register the Doc extensions once (idempotent, safe at import time)."""
    for name, default in DOC_EXTENSIONS.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=default)


ImageLabels = List[Tuple[str, float]]


IMAGE_WORD_SOURCES = ("auto", "labels", "caption", "both", "none")


def check_image_word_settings(source: str, max_words: int) -> None:
    """A model's `image_words` and `max_image_words` settings, checked when the model is built (a typo in a
    config fails at once, not at the first batch)."""
    if source not in IMAGE_WORD_SOURCES:
        raise ValueError(f"image_words must be one of {', '.join(IMAGE_WORD_SOURCES)}, not {source!r}")
    if max_words < 0:
        raise ValueError(f"max_image_words must be >= 0, not {max_words}")


def image_words(doc: Doc, source: str = "auto", content_only: bool = False) -> List[str]:
    """The words a model reads for the post's image.

    source: "labels" (the ImageNet labels), "caption" (the caption's words), "both" (labels, then the
    caption), "none", or "auto" (labels where the classifier gave some, else the caption). Multi-word class
    names are split into words. `content_only` drops stop words (spaCy's English list) and words without a
    letter or digit: a caption's "a", "of", "the" say nothing about the post and take the model's attention.
    """
    if source == "none":
        return []
    if source not in IMAGE_WORD_SOURCES:
        raise ValueError(f"image word source must be one of {', '.join(IMAGE_WORD_SOURCES)}, not {source!r}")
    words: List[str] = []
    if source in ("auto", "labels", "both"):
        for label, _ in doc._.image_labels or []:
            words.extend(label.replace("_", " ").split())
    if (source == "both" or (not words and source in ("auto", "caption"))) and doc._.image_caption:
        words.extend(doc._.image_caption.split())
    if content_only:
        words = [w for w in words if w.lower() not in STOP_WORDS and any(c.isalnum() for c in w)]
    return words


def copy_image_data(source: Doc, target: Doc) -> None:
    """Give `target` the image data of `source` where `target` has none (a fresh Doc of the same post)."""
    for name in DOC_EXTENSIONS:
        value = getattr(source._, name)
        if value is not None and getattr(target._, name) is None:
            setattr(target._, name, value)
