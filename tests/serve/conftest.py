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
def served_model(save_trained_cwi) -> Path:
    """The pipeline the servers load, trained a few seeded steps so that it finds entities."""
    return save_trained_cwi(POSTS, steps=30)


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
