"""`python -m spacy_mner predict` and `visualize`: one output line per input line, whatever the input holds."""
import json
import os
import subprocess
import sys

import pytest
import spacy
from PIL import Image
from skimage import data
from spacy.tokens import Doc
from spacy.training import Example

from spacy_mner.__main__ import main

CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}
POSTS = [
    (["Obama", "visits", "Paris", "today"], ["B-PER", "O", "B-LOC", "O"]),
    (["@NASA", "launches", "from", "Florida", "!"], ["B-ORG", "O", "O", "B-LOC", "O"]),
    (["Watching", "the", "World", "Cup", "with", "Ana"], ["O", "O", "B-OTHER", "I-OTHER", "O", "B-PER"]),
]


def save_model(nlp, path, steps: int):
    """Add `image_labels` (the real EfficientNet-Lite0) in front, train `steps` steps, save to `path`."""
    nlp.add_pipe("image_labels", first=True)
    egs = [Example(Doc(nlp.vocab, words=w), Doc(nlp.vocab, words=w, ents=t)) for w, t in POSTS]
    optimizer = nlp.initialize(lambda: egs)
    for _ in range(steps):
        nlp.update(egs, sgd=optimizer)
    nlp.to_disk(path)
    return path


def run_predict(*args, env=None):
    return subprocess.run([sys.executable, "-m", "spacy_mner", "predict", *map(str, args)],
                          capture_output=True, text=True, timeout=90, env=env)


@pytest.fixture
def posts(tmp_path):
    """A JSONL file with every kind of line, and the cat picture one of them points to."""
    cat = tmp_path / "cat.jpg"
    Image.fromarray(data.chelsea()).save(cat)
    lines = [
        json.dumps({"text": "Obama visits Paris today", "id": 1}),
        "{not json",
        json.dumps({"id": "no-text", "image": None}),
        json.dumps({"text": "Ana at the World Cup", "image": str(tmp_path / "missing.jpg"), "id": 4}),
        "",
        json.dumps({"text": "Chelsea watching @NASA launches from Florida !", "image": str(cat), "id": "cat"}),
        json.dumps({"text": "   ", "id": 7}),
        json.dumps(["a", "list"]),
        json.dumps({"text": "Paris in the rain \u2614 again", "image": None}),
    ]
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def test_predict_writes_one_line_per_input_line(make_nlp, posts, tmp_path):
    model = save_model(make_nlp(), tmp_path / "model", steps=10)
    output = tmp_path / "out" / "predictions.jsonl"
    result = run_predict(model, posts, output, "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    assert "9 lines read, 4 posts predicted, 5 errors" in result.stdout
    out = [json.loads(line) for line in output.read_text(encoding="utf8").splitlines()]
    assert len(out) == len(posts.read_text(encoding="utf8").splitlines()) == 9

    errors = {row["line"]: row for row in out if "error" in row}
    assert sorted(errors) == [2, 3, 5, 7, 8]
    assert errors[2]["error"].startswith("not JSON") and "id" not in errors[2]
    assert errors[3] == {"line": 3, "id": "no-text", "error": 'no "text"'}
    assert errors[5]["error"] == "blank line"
    assert errors[7]["error"] == '"text" is empty'
    assert errors[8]["error"] == "not a JSON object but list"
    for line, row in errors.items():
        name = f"line {line}" + (f" (id {row['id']})" if "id" in row else "")
        assert f"{posts}, {name}: {row['error']}" in result.stderr
    # a missing image file: the post is tagged from its text, the reason in its line and on stderr
    missing = out[3]
    assert missing["line"] == 4 and missing["id"] == 4 and missing["image_labels"] == []
    reason = f"image {tmp_path / 'missing.jpg'} cannot be used (no such file)"
    assert missing["image_error"] == reason and "entities" in missing
    assert f"{posts}, line 4 (id 4): {reason}; tagged from its text" in result.stderr
    assert "post doc" not in result.stderr  # warnings name the input line, not a place in a batch

    good = [row for row in out if "error" not in row and "image_error" not in row]
    assert [row["line"] for row in out] == list(range(1, 10))
    assert [row["id"] for row in good] == [1, "cat", None]
    assert any(row["entities"] for row in good)
    for row in good:
        for ent in row["entities"]:
            assert row["text"][ent["start"]:ent["end"]] == ent["text"]
            assert ent["label"] in {"PER", "LOC", "ORG", "OTHER"}
            assert isinstance(ent["score"], float) and 0.0 < ent["score"] <= 1.0
    obama, cat, rain = good
    assert obama["image_labels"] == [] and rain["image_labels"] == []
    assert len(cat["image_labels"]) == 5 and CATS & {label for label, _ in cat["image_labels"]}
    assert all(isinstance(prob, float) for _, prob in cat["image_labels"])

    # two worker processes give the same file; without OMP_NUM_THREADS=1 (set for the tests) a worker
    # forked after torch had used several threads used to hang
    env = {name: value for name, value in os.environ.items() if name != "OMP_NUM_THREADS"}
    parallel = tmp_path / "parallel.jsonl"
    result = run_predict(model, posts, parallel, "--n-process", "2", "--batch-size", "2", env=env)
    assert result.returncode == 0, result.stderr
    assert parallel.read_text(encoding="utf8") == output.read_text(encoding="utf8")


def test_visualize_shows_the_good_posts(make_nlp, posts, tmp_path, capsys):
    model = save_model(make_nlp(), tmp_path / "model", steps=0)
    page = tmp_path / "page.html"
    assert main(["visualize", str(model), str(posts), str(page), "--limit", "3"]) == 0
    captured = capsys.readouterr()
    assert "3 posts shown" in captured.out and f"{posts}, line 2: not JSON" in captured.err
    assert f"{posts}, line 4 (id 4): image {tmp_path / 'missing.jpg'} cannot be used (no such file)" in captured.err
    html = page.read_text(encoding="utf8")
    assert "line 1 · id 1" in html and "line 4 · id 4" in html and "line 6 · id cat" in html
    assert "line 9" not in html  # --limit
    assert html.count("data:image/jpeg;base64,") == 1 and html.count('class="no-image"') == 2


@pytest.mark.parametrize("command", ["predict", "visualize"])
def test_missing_input_or_model(command, posts, tmp_path, capsys):
    assert main([command, str(tmp_path), str(tmp_path / "nope.jsonl"), str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope.jsonl'}: no such file\n"
    assert main([command, str(tmp_path / "nope"), str(posts), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {tmp_path / 'nope'}: no such folder (nor an installed pipeline package)\n"
    (tmp_path / "empty").mkdir()
    assert main([command, str(tmp_path / "empty"), str(posts), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'empty'}: cannot load a spaCy pipeline") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_gpu_that_is_not_there(posts, tmp_path, capsys):
    if spacy.prefer_gpu():
        pytest.skip("this machine has a GPU")
    assert main(["predict", str(tmp_path), str(posts), str(tmp_path / "out.jsonl"), "--gpu-id", "0"]) == 1
    assert capsys.readouterr().err.startswith("error: --gpu-id 0: Cannot use GPU")
