"""The corpus-sized learning-rate schedule: Twitter-2015's exact values, and longer for a bigger corpus."""
from itertools import islice
from pathlib import Path

import pytest
from spacy import registry
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from thinc.api import Config, warmup_linear

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def corpus(path: Path, posts: int) -> Path:
    vocab = Vocab()
    DocBin(docs=[Doc(vocab, words=["post", str(i)]) for i in range(posts)]).to_disk(path)
    return path


def schedule_of(config_name: str, train: Path, **overrides):
    config = Config().from_disk(CONFIGS / config_name, interpolate=False)
    config["paths"]["train"] = str(train)
    for key, value in overrides.items():
        config["training"][key] = value
    config = config.interpolate()
    return registry.resolve({"lr": config["training"]["optimizer"]["learn_rate"]})["lr"]


@pytest.mark.parametrize("config_name", ["msb.cfg", "msb_crf_stage2.cfg"])
def test_twitter2015_size_gives_the_old_schedule_exactly(tmp_path, config_name):
    """4000 posts, 16 a batch, 5 epochs: the values of the old `warmup_linear.v1` with 125 / 1250 steps."""
    train = corpus(tmp_path / "train.spacy", 4000)
    ours = list(islice(schedule_of(config_name, train), 1400))
    old = list(islice(warmup_linear(initial_rate=0.00005, warmup_steps=125, total_steps=1250), 1400))
    assert ours == old


def test_schedule_follows_corpus_size_and_epochs(tmp_path):
    train = corpus(tmp_path / "train.spacy", 40000)
    values = list(islice(schedule_of("msb.cfg", train), 12600))
    assert values == list(islice(warmup_linear(0.00005, 1250, 12500), 12600))
    folder = tmp_path / "folder"
    folder.mkdir()
    corpus(folder / "a.spacy", 100), corpus(folder / "b.spacy", 20)  # 120 posts: 8 batches x 20 epochs
    values = list(islice(schedule_of("msb.cfg", folder, max_epochs=20), 170))
    assert values == list(islice(warmup_linear(0.00005, 16, 160), 170))


def test_schedule_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="set --paths.train"):
        registry.resolve({"lr": {"@schedules": "spacy_mner.warmup_linear_epochs.v1", "corpus": None, "epochs": 5,
                                 "batch_size": 16, "initial_rate": 1e-4}})
    with pytest.raises(ValueError, match="max_epochs >= 1"):
        schedule_of("msb.cfg", corpus(tmp_path / "t.spacy", 10), max_epochs=0)
