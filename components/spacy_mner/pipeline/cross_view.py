"""Cross-view alignment (ITA, Wang et al., NAACL 2022): train on both views of a post, pull them together.

A post with image words is seen twice in training: as it is (text + image words, the view used at
prediction) and as its text alone (the view of a post without image words). Both views learn the gold
tags, and a KL term pulls their per-token tag distributions (the softmax of the tag scores) together, so the
image words can sharpen a prediction but are taught not to overturn what the text says.
`crf_ner`'s `cross_view_weight` sets the KL term's weight; 0 (the default) trains the paper's single view.
Its `cross_view_pull` says which views the KL term trains: "both" pulls each toward the other; "text" only
the text view, toward the multimodal one (its gradient stopped), which stays free to use the image words.
"""
from typing import Tuple

from spacy.tokens import Doc
from thinc.api import Ops
from thinc.types import Floats2d

CROSS_VIEW_PULLS = ("both", "text")


def has_image_words(doc: Doc) -> bool:
    """Whether the post carries any image signal a model could read (labels or a caption)."""
    return bool(doc._.image_labels) or bool(doc._.image_caption)


def text_view(doc: Doc) -> Doc:
    """A copy of `doc` with its image signal removed: what the model sees of a post without a picture."""
    text = doc.copy()
    text._.image_labels = []
    text._.image_caption = None
    return text


def cross_view_kl(ops: Ops, multimodal: Floats2d, text: Floats2d) -> Tuple[float, Floats2d, Floats2d]:
    """KL(p_multimodal || p_text) summed over tokens, p = softmax of each row of tag scores, and its
    gradients for the two score arrays (the same tokens, row for row)."""
    xp = ops.xp
    p_m, p_t = ops.softmax(multimodal), ops.softmax(text)
    log_ratio = xp.log(p_m + 1e-12) - xp.log(p_t + 1e-12)
    kl = p_m * log_ratio
    d_multimodal = p_m * (log_ratio - kl.sum(axis=1, keepdims=True))
    d_text = p_t - p_m
    return float(kl.sum()), d_multimodal, d_text
