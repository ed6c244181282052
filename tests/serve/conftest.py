"""The serve tests' fixtures: a small trained pipeline (image_labels with the real EfficientNet-Lite0 + crf_ner
over a small CWI), saved once, a photo, and real servers (see servers.py)."""
import io
from pathlib import Path
from typing import Dict

import pytest
from PIL import Image
from skimage import data
from servers import POSTS, SERVERS, Server, launch


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
def launched(served_model, tmp_path_factory) -> Dict[str, Server]:
    """All the SERVERS, launched at once; each test waits for the one it uses."""
    logs = tmp_path_factory.mktemp("logs")
    running = {name: launch(served_model, logs / f"{name}.log", options) for name, options in SERVERS.items()}
    yield running
    for server in running.values():
        server.stop()


@pytest.fixture(scope="session")
def server(launched) -> Server:
    """The server most tests share, with small limits (LIMITS)."""
    return launched["shared"].ready()
