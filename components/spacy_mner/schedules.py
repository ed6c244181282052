"""A warm-up and linear-decay learning-rate schedule whose length follows from the corpus and the epochs.

A fixed `total_steps` suits one corpus only: written for Twitter-2015's 4000 posts (250 batches of 16 x 5
epochs = 1250 steps), it leaves the rate at 0 after an eighth of the first epoch of a 40000-post corpus.
This schedule counts the training corpus's posts when the optimizer is made and computes
`total_steps = ceil(posts / batch_size) * epochs` and `warmup_steps = round(warmup * total_steps)`, then
yields exactly what thinc's `warmup_linear.v1` yields for those steps (for Twitter-2015: 1250 and 125,
the values the MSB configs used to write out).
"""
import math
from pathlib import Path
from typing import Iterator, Optional, Union

from spacy import registry


def count_posts(corpus: Union[str, Path]) -> int:
    """The number of Docs in a `.spacy` file, or in all `.spacy` files under a folder."""
    from spacy.tokens import DocBin
    from spacy.training.corpus import walk_corpus

    return sum(len(DocBin().from_disk(path)) for path in walk_corpus(corpus, ".spacy"))


@registry.schedules("spacy_mner.warmup_linear_epochs.v1")
def warmup_linear_epochs(
    corpus: Optional[Union[str, Path]], epochs: int, batch_size: int, initial_rate: float, warmup: float = 0.1
) -> Iterator[float]:
    """thinc's warmup_linear.v1, with total and warm-up steps from the corpus size, epochs and batch size
    (`warmup`: the share of the steps that warm up)."""
    from thinc.api import warmup_linear

    if corpus is None:
        raise ValueError("the learning-rate schedule is sized from the training corpus: set --paths.train")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"the learning-rate schedule needs training.max_epochs >= 1 and a batch size >= 1 "
                         f"(got {epochs} and {batch_size}); with max_epochs 0 use warmup_linear.v1 and total_steps")
    if not 0 <= warmup < 1:
        raise ValueError(f"warmup is the share of steps that warm up, in [0, 1), not {warmup}")
    total = math.ceil(count_posts(corpus) / batch_size) * epochs
    return warmup_linear(initial_rate, round(warmup * total), total)
