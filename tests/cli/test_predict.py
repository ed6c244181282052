"""`python -m spacy_mner predict` and `visualize`: one output line per input line, whatever the input holds."""
import json
import os
import subprocess
import sys

import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example

from spacy_mner.__main__ import main
from spacy_mner.pipeline.confidence import entity_scores, pipeline_spans_key

CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}
POSTS = [
    (["Obama", "visits", "Paris", "today"], ["B-PER", "O", "B-LOC", "O"]),
    (["@NASA", "launches", "from", "Florida", "!"], ["B-ORG", "O", "O", "B-LOC", "O"]),
    (["Watching", "the", "World", "Cup", "with", "Ana"], ["O", "O", "B-OTHER", "I-OTHER", "O", "B-PER"]),
]


def run_predict(*args, env=None):
    return subprocess.run([sys.executable, "-m", "spacy_mner", "predict", *map(str, args)],
                          capture_output=True, text=True, timeout=90, env=env)


@pytest.fixture
def posts(every_kind_of_line, tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(every_kind_of_line) + "\n", encoding="utf8")
    return path


def without_scores(entities):
    return [{key: value for key, value in ent.items() if key != "score"} for ent in entities]


def entities_of(nlp, row, image=None):
    """The entities the pipeline finds in-process, as the CLI writes them."""
    doc = nlp.make_doc(row["text"])
    doc._.image = image
    doc = nlp(doc)
    scores = entity_scores(doc, pipeline_spans_key(nlp))
    return [{"start": e.start_char, "end": e.end_char, "label": e.label_, "text": e.text, "score": pytest.approx(score, abs=1e-5)}
            for e, score in zip(doc.ents, scores)]


def test_predict_writes_one_line_per_input_line(save_trained_cwi, posts, tmp_path):
    model = save_trained_cwi(POSTS, steps=40)
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
    obama, cat, rain = good
    # a training post: the entities it was trained on, at their character offsets
    assert without_scores(obama["entities"]) == [{"start": 0, "end": 5, "label": "PER", "text": "Obama"},
                                                 {"start": 13, "end": 18, "label": "LOC", "text": "Paris"}]
    nlp = spacy.load(model)
    for row, image in zip(good, [None, str(tmp_path / "cat.jpg"), None]):
        assert row["entities"] == entities_of(nlp, row, image)
        for ent in row["entities"]:
            assert row["text"][ent["start"]:ent["end"]] == ent["text"]
            assert isinstance(ent["score"], float) and 0.0 < ent["score"] <= 1.0
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


ROCKET = [["Rocket", "is", "here"], ["I", "love", "Rocket"], ["Rocket", "again", "tonight"]]
CAPTIONS = {"PER": "a small brown dog on a sofa", "ORG": "a rock band playing on a stage"}


@pytest.fixture
def caption_model(make_nlp, tmp_path):
    """A CWI whose only clue to Rocket's type (the dog PER, the band ORG) is the caption."""
    nlp = make_nlp(use_chars=False)
    egs = []
    for words in ROCKET:
        for label, caption in CAPTIONS.items():
            tags = ["B-" + label if w == "Rocket" else "O" for w in words]
            eg = Example(Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words, ents=tags))
            eg.predicted._.image_caption = eg.reference._.image_caption = caption
            egs.append(eg)
    optimizer = nlp.initialize(lambda: egs)
    for _ in range(60):
        nlp.update(egs, sgd=optimizer)
    assert nlp.evaluate(egs)["ents_f"] == 1.0
    nlp.to_disk(tmp_path / "captions-model")
    return tmp_path / "captions-model"


def test_predict_reads_captions_a_bom_and_survives_bad_bytes(caption_model, tmp_path):
    path = tmp_path / "posts.jsonl"
    lines = [
        "\ufeff" + json.dumps({"text": "Rocket is here", "caption": CAPTIONS["PER"], "id": "dog"}),  # a BOM first
        json.dumps({"text": "Rocket is here", "caption": CAPTIONS["ORG"]}),
        json.dumps({"text": "Rocket is here", "caption": 5}),
    ]
    raw = (lines[0] + "\n").encode("utf8") + b'{"text": "caf\xe9"}\n' + "\n".join(lines[1:]).encode("utf8") + b"\n"
    path.write_bytes(raw)
    output = tmp_path / "out.jsonl"
    result = run_predict(caption_model, path, output)
    assert result.returncode == 0, result.stderr
    assert "4 lines read, 2 posts predicted, 2 errors" in result.stdout
    dog, latin, band, bad_caption = [json.loads(line) for line in output.read_text(encoding="utf8").splitlines()]
    rocket = {"start": 0, "end": 6, "text": "Rocket"}
    assert dog["id"] == "dog" and without_scores(dog["entities"]) == [{**rocket, "label": "PER"}]
    assert without_scores(band["entities"]) == [{**rocket, "label": "ORG"}]
    assert latin["line"] == 2 and latin["error"].startswith("not UTF-8")
    assert bad_caption == {"line": 4, "error": '"caption" must be a string or null, not 5'}
    assert f"{path}, line 2: not UTF-8" in result.stderr


def test_predict_loads_a_pipeline_package_by_name(save_trained_cwi, tmp_path):
    """`predict NAME` with NAME an installed pipeline package (here installed into a folder on PYTHONPATH)."""
    model = save_trained_cwi(POSTS, steps=40)
    (tmp_path / "packages").mkdir()
    packaged = subprocess.run(
        [sys.executable, "-m", "spacy", "package", str(model), str(tmp_path / "packages"), "--name", "mner_by_name",
         "--version", "0.0.1", "--build", "none", "--force"], capture_output=True, text=True, timeout=300,
    )
    assert packaged.returncode == 0, packaged.stderr[-3000:]
    source = next((tmp_path / "packages").glob("en_mner_by_name-*"))
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(tmp_path / "site"), str(source)], capture_output=True, text=True, timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    posts = tmp_path / "posts.jsonl"
    posts.write_text(json.dumps({"text": "Obama visits Paris today"}) + "\n", encoding="utf8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    result = run_predict("en_mner_by_name", posts, tmp_path / "out.jsonl", env=env)
    assert result.returncode == 0, result.stderr
    (row,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf8").splitlines()]
    assert [(e["text"], e["label"]) for e in row["entities"]] == [("Obama", "PER"), ("Paris", "LOC")]


def test_visualize_shows_the_good_posts(save_trained_cwi, posts, tmp_path, capsys):
    model = save_trained_cwi(POSTS, steps=0)
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
