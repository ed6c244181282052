"""The serve tests' fixtures: a small trained pipeline (image_labels with the real EfficientNet-Lite0 + crf_ner
over a small CWI), saved once, a photo, and real servers (see servers.py)."""
import io
from pathlib import Path
from typing import List

import pytest
from PIL import Image
from skimage import data
from servers import LIMITS, POSTS, Server, start_server


@pytest.fixture(scope="session")
def served_model(tmp_path_factory, small_vectors) -> Path:
    """The pipeline the servers load, trained a few seeded steps so that it finds entities."""
    import spacy
    from spacy.tokens import Doc
    from spacy.training import Example
    from spacy.util import fix_random_seed
    from spacy.vectors import Vectors

    fix_random_seed(0)
    nlp = spacy.blank("en")
    words, table = small_vectors
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=table.copy(), keys=words)
    nlp.add_pipe("image_labels")
    nlp.add_pipe("crf_ner", name="ner", config={"model": {"@architectures": "spacy_mner.CWI.v1", "dropout": 0.0}})
    examples = [Example(Doc(nlp.vocab, words=w), Doc(nlp.vocab, words=w, ents=t)) for w, t in POSTS]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(30):
        nlp.update(examples, sgd=optimizer)
    path = tmp_path_factory.mktemp("served") / "model"
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="session")
def cat_jpeg() -> bytes:
    """skimage's chelsea (a real photo of a cat) as JPEG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(data.chelsea()).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def server(served_model, tmp_path_factory):
    """The server most tests share, with small limits (LIMITS)."""
    options = [str(part) for pair in LIMITS.items() for part in pair]
    running = start_server(served_model, tmp_path_factory.mktemp("logs") / "server.log", options)
    yield running
    running.stop()


@pytest.fixture
def start(served_model, tmp_path):
    """Start a server of one's own (stopped at the end of the test if still running)."""
    started: List[Server] = []

    def make(*options: str) -> Server:
        started.append(start_server(served_model, tmp_path / f"server{len(started)}.log", list(options)))
        return started[-1]

    yield make
    for running in started:
        if running.process.poll() is None:
            running.stop()
