"""A pipeline packaged with `spacy package` installs in a fresh virtualenv and works there by name.

The fresh virtualenv gets only what a user's would: torch and the other dependencies from the package
registries, this project from its folder (`pip install /path/to/spacy-mner`: it is not on PyPI), then the
pipeline's wheel; nothing is downloaded at run time.
"""
import json
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
from PIL import Image
from skimage import data
from spacy.training import Example

ROOT = Path(__file__).resolve().parent.parent
APP = """
import json, sys
import spacy
nlp = spacy.load("en_mner_wheel_check")
out = []
for image in (sys.argv[1], open(sys.argv[1], "rb").read(), None):
    doc = nlp.make_doc("Obama visits Paris with Chelsea")
    doc._.image = image
    doc = nlp(doc)
    out.append({"ents": [[e.start_char, e.end_char, e.label_] for e in doc.ents], "labels": [l for l, _ in doc._.image_labels]})
print(json.dumps({"pipes": nlp.pipe_names, "posts": out}))
"""


PIP_TIMEOUT = 1200  # seconds for one `pip install` (torch is large; pip's cache usually has it)


def pip(venv: Path, *args: str) -> None:
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *args],
                          capture_output=True, text=True, timeout=PIP_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture
def venv(tmp_path):
    """A fresh virtualenv, removed after the test (with torch it is several GB: pytest would keep the
    temporary folders of the last three runs)."""
    path = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_packaged_wheel_works_in_a_fresh_virtualenv(make_nlp, venv, tmp_path):
    nlp = make_nlp(use_chars=False, use_image=False)  # the entities must not depend on the image here
    nlp.add_pipe("image_labels", first=True)
    docs = [nlp.make_doc("Obama visits Paris with Chelsea")]
    train = [Example.from_dict(docs[0], {"entities": [(0, 5, "PER"), (13, 18, "LOC"), (24, 31, "PER")]})]
    optimizer = nlp.initialize(lambda: train)
    for _ in range(30):
        nlp.update(train, sgd=optimizer)
    nlp.to_disk(tmp_path / "model")
    image = tmp_path / "chelsea.jpg"
    Image.fromarray(data.chelsea()).save(image)

    (tmp_path / "packages").mkdir()
    packaged = subprocess.run(
        [sys.executable, "-m", "spacy", "package", str(tmp_path / "model"), str(tmp_path / "packages"),
         "--name", "mner_wheel_check", "--version", "0.0.1", "--build", "wheel"],
        capture_output=True, text=True, timeout=PIP_TIMEOUT,  # builds the wheel in an isolated env (pip)
    )
    assert packaged.returncode == 0, packaged.stderr[-3000:]
    wheel = next((tmp_path / "packages").glob("*/dist/*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Dist: spacy-mner" in metadata  # pip would install the components with the wheel

    pip(venv, *(f"{name}=={version(name)}" for name in ("torch", "torchvision")))  # as in this environment
    pip(venv, str(ROOT))
    pip(venv, str(wheel))
    run = subprocess.run([str(venv / "bin" / "python"), "-c", APP, str(image)], capture_output=True, text=True, cwd=tmp_path,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])

    assert result["pipes"] == ["image_labels", "ner"]
    expected = [[0, 5, "PER"], [13, 18, "LOC"], [24, 31, "PER"]]
    assert [post["ents"] for post in result["posts"]] == [expected] * 3
    from_path, from_bytes, without = (post["labels"] for post in result["posts"])
    assert from_path == from_bytes and len(from_path) == 5
    assert {"tabby", "tiger cat", "Egyptian cat"} & set(from_path[:3])
    assert without == []
