"""The `[initialize.after_init]` callback that gives sourced `crf_ner` components the training corpus's labels.

A second training stage sources `ner` from a first-stage pipeline (configs/msb_crf_stage2.cfg). spaCy
3.8's `init_nlp` (what `spacy train` runs) does not initialize a sourced component that it will train: it
calls `nlp.resume_training` and runs `nlp.initialize` with those components disabled, so they keep the
first stage's labels. This callback, run at the end of that `nlp.initialize`, finds them (the `crf_ner`
components disabled during it, less `[training] frozen_components`) and calls their
`relabel` with the labels of `[training] train_corpus`, inferred as `initialize` infers them. Shared labels
keep their trained rows; `label_map` carries a first-stage label's rows over to a corpus label of another
name (`{"PER": "person"}`, or `"PER=person,ORG=corporation"` as a project var or command-line override
gives it). A component whose labels already are the corpus's is left as it is.
"""
from itertools import islice
from typing import Callable, Dict, Union

from spacy import Language, registry
from spacy.util import resolve_dot_names

from ..pipeline.crf_ner import CRFEntityRecognizer, corpus_labels

STREAMED_SAMPLE = 100  # as init_nlp: a streamed corpus (max_epochs -1) gives its labels from its first posts


def parse_label_map(label_map: Union[Dict[str, str], str]) -> Dict[str, str]:
    """A map, or `OLD=NEW` pairs separated by commas ("" for none)."""
    if isinstance(label_map, dict):
        return {str(k): str(v) for k, v in label_map.items()}
    out: Dict[str, str] = {}
    for item in filter(None, (part.strip() for part in label_map.split(","))):
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ValueError(f"label_map {item!r}: expected OLD=NEW pairs separated by commas (e.g. PER=person)")
        out[old.strip()] = new.strip()
    return out


@registry.callbacks("spacy_mner.relabel_sourced.v1")
def make_relabel_sourced(label_map: Union[Dict[str, str], str] = {}) -> Callable[[Language], Language]:
    """See the module docstring."""
    mapping = parse_label_map(label_map)

    def after_init(nlp: Language) -> Language:
        config = nlp.config.interpolate()
        training = config["training"]
        frozen = set(training["frozen_components"])
        sourced = [proc for name, proc in nlp.components
                   if isinstance(proc, CRFEntityRecognizer) and name in nlp.disabled and name not in frozen]
        if not sourced:
            return nlp
        corpus = resolve_dot_names(config, [training["train_corpus"]])[0]
        limit = STREAMED_SAMPLE if training["max_epochs"] == -1 else None
        labels = corpus_labels(islice(corpus(nlp), limit))
        for proc in sourced:
            proc.relabel(labels, label_map=mapping)
        return nlp

    return after_init
