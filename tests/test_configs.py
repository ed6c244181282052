"""Every config in configs/ (found by glob, so a new one is covered) builds its pipeline, and its training,
corpora and initialize sections resolve: a typo in a setting or a registered name fails here, not in a
long `spacy train` run."""
from pathlib import Path

import pytest
import spacy
from spacy import registry
from spacy.schemas import ConfigSchemaInit, ConfigSchemaTraining
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import load_config, load_model_from_config, resolve_dot_names
from thinc.api import Optimizer

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.cfg"))


def test_the_configs_are_found():
    assert {"cwi.cfg", "msb.cfg", "msb_crf_stage2.cfg"} <= {path.name for path in CONFIGS}


def source_pipeline(make_nlp, path: Path) -> str:
    """A saved pipeline with an initialized `ner`, for configs that source their `ner` from one."""
    nlp = make_nlp()
    ref = Doc(nlp.vocab, words=["Obama", "in", "Paris"], ents=["B-PER", "O", "B-LOC"])
    nlp.initialize(lambda: [Example(Doc(nlp.vocab, words=[t.text for t in ref]), ref)])
    nlp.to_disk(path)
    return str(path)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.name)
def test_config_builds_and_resolves(path, make_nlp, tmp_path):
    raw = load_config(path, interpolate=False)
    posts = tmp_path / "posts.spacy"  # MSB's learning-rate schedule counts the training posts
    DocBin(docs=[Doc(spacy.blank("en").vocab, words=["Obama", "in", "Paris"], ents=["B-PER", "O", "B-LOC"])]).to_disk(posts)
    overrides = {"paths.train": str(posts), "paths.dev": str(posts)}
    if "source" in raw["paths"]:
        overrides["paths.source"] = source_pipeline(make_nlp, tmp_path / "source")
    config = load_config(path, overrides=overrides, interpolate=False)
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == config["nlp"]["pipeline"]
    assert "ner" in nlp.pipe_names and nlp.get_pipe("ner").model is not None
    resolved = nlp.config.interpolate()
    training = registry.resolve(resolved["training"], schema=ConfigSchemaTraining)
    train_corpus, dev_corpus = resolve_dot_names(resolved, [training["train_corpus"], training["dev_corpus"]])
    assert callable(train_corpus) and callable(dev_corpus)
    assert isinstance(training["optimizer"], Optimizer)
    registry.resolve(resolved["initialize"], schema=ConfigSchemaInit)
    # the pipeline's own config round-trips: what `spacy train` saves loads again
    assert spacy.util.load_model_from_config(nlp.config, auto_fill=False, validate=True).pipe_names == nlp.pipe_names
