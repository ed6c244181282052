"""scripts/vector_oov.py: each source's out-of-vocabulary rate on a converted corpus's entity tokens."""
import subprocess
import sys
from pathlib import Path

import spacy
from spacy.tokens import Doc, DocBin

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "vector_oov.py"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=300)


def test_oov_rates_per_source_and_split(tmp_path):
    vocab = spacy.blank("en").vocab
    post = Doc(vocab, words=["Obama", "meets", "#Zorblaxian2026", "fans"], ents=["B-PER", "O", "B-ORG", "O"])
    for split in ("train", "dev", "test"):
        DocBin(docs=[post]).to_disk(tmp_path / f"{split}.spacy")
    done = run(tmp_path, "--sources", "glove-6b-50d,m2v-minilm", "--max-rows", "20000")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[2:]}
    # two entity tokens per split: "obama" is in GloVe's first 20000 words, the invented hashtag is not;
    # MiniLM's wordpieces cut both
    assert rows == {"glove-6b-50d": ["50.00%"] * 3, "m2v-minilm": ["0.00%"] * 3}


def test_a_missing_split_is_named(tmp_path):
    done = run(tmp_path, "--sources", "glove-6b-50d")
    assert done.returncode != 0 and f"{tmp_path}: no train.spacy" in done.stderr
