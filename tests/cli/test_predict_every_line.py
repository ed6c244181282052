"""`predict` never loses a line: each of the inputs that used to end a run, a failing component, and an
interrupted run that `--resume` finishes without tagging the done lines again."""
import json

import pytest
import spacy
from PIL import Image
from skimage import data
from spacy.language import Language
from spacy.tokens import Doc

import spacy_mner.cli.predict as predict_cli
from spacy_mner.__main__ import main
from spacy_mner.cli.jsonl import JsonlPost
from spacy_mner.cli.tagging import tag_posts

POSTS = [
    (["Obama", "visits", "Paris", "today"], ["B-PER", "O", "B-LOC", "O"]),
    (["@NASA", "launches", "from", "Florida", "!"], ["B-ORG", "O", "O", "B-LOC", "O"]),
    (["Watching", "the", "World", "Cup", "with", "Ana"], ["O", "O", "B-OTHER", "I-OTHER", "O", "B-PER"]),
]


@pytest.fixture(scope="module")
def model(save_trained_cwi):
    """A small trained CWI pipeline with the real EfficientNet-Lite0 `image_labels` in front, on disk."""
    return save_trained_cwi(POSTS, steps=15)


@pytest.fixture
def sixteen_lines(tmp_path):
    """16 lines as a new user's file may hold them, with every case that used to end a run."""
    cat = tmp_path / "cat.jpg"
    Image.fromarray(data.chelsea()).save(cat)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    posts = [{"text": f"Obama visits Paris on day {i}", "id": i} for i in range(16)]
    lines = [json.dumps(post) for post in posts]
    lines[2] = "[" * 100_000  # valid UTF-8, JSON nested deeper than Python's recursion limit
    lines[5] = json.dumps({"text": "Paris " * 183_334, "id": "huge"})  # 1 100 004 characters: spaCy's E088
    lines[7] = json.dumps({"text": "Ana at the World Cup", "image": str(tmp_path / "missing.jpg"), "id": "gone"})
    lines[9] = json.dumps({"text": "Ana at the World Cup", "image": str(broken), "id": "broken"})
    lines[11] = json.dumps({"text": "Chelsea watching @NASA launches from Florida !", "image": str(cat), "id": "cat"})
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def read_rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]


def test_every_line_ends_tagged_or_as_an_error(model, sixteen_lines, tmp_path, capsys):
    output = tmp_path / "out.jsonl"
    assert main(["predict", str(model), str(sixteen_lines), str(output), "--batch-size", "4"]) == 0
    captured = capsys.readouterr()
    assert "16 lines read, 14 posts predicted, 2 errors" in captured.out
    rows = read_rows(output)
    assert [row["line"] for row in rows] == list(range(1, 17))
    assert rows[2] == {"line": 3, "error": "not usable JSON (nested too deeply)"}
    assert rows[5]["id"] == "huge" and "1100004 characters, more than the pipeline's max_length" in rows[5]["error"]
    # an image that is missing or cannot be decoded: tagged from its text, the reason in its line
    for row, reason in ((rows[7], "no such file"), (rows[9], "cannot identify image file")):
        assert "entities" in row and row["image_labels"] == [] and reason in row["image_error"]
        assert f"line {row['line']} (id {row['id']}): {row['image_error']}; tagged from its text" in captured.err
    assert "post doc" not in captured.err and "Traceback" not in captured.err
    assert len(rows[11]["image_labels"]) == 5 and "image_error" not in rows[11]
    tagged = [row for row in rows if "error" not in row]
    assert len(tagged) == 14 and all(row["id"] == i for i, row in enumerate(rows) if i not in (2, 5, 7, 9, 11))


@Language.component("explodes_on_boom")
def explodes_on_boom(doc: Doc) -> Doc:
    if "BOOM" in doc.text:
        raise RuntimeError("this post breaks the component")
    return doc


@pytest.mark.parametrize("n_process", [1, 2])
def test_a_failing_component_ends_only_its_post(n_process):
    nlp = spacy.blank("en")
    nlp.add_pipe("explodes_on_boom")
    texts = ["fine one", "fine two", "BOOM here", "fine four", "fine five", "fine six", "BOOM again", "fine"]
    posts = [JsonlPost(0, text=text) for text in texts]  # numbers need not be unique (a server's requests)
    out = list(tag_posts(nlp, posts, batch_size=3, n_process=n_process))
    assert [post.text for post, _ in out] == texts  # in input order
    for (post, doc), text in zip(out, texts):
        if "BOOM" in text:
            assert doc is None
            assert post.error == "the pipeline failed on this post (RuntimeError: this post breaks the component)"
        else:
            assert post.error is None and doc.text == text
    # the pipeline's own error handling is left as it was
    with pytest.raises(RuntimeError):
        nlp("BOOM")


def test_an_interrupted_run_resumes_without_tagging_the_done_lines(model, sixteen_lines, tmp_path, monkeypatch,
                                                                   capsys, assert_same_predictions):
    full = tmp_path / "full.jsonl"
    assert main(["predict", str(model), str(sixteen_lines), str(full), "--batch-size", "4"]) == 0
    tagged_lines = []

    def interrupted_after(n):
        def tag(nlp, posts, **kwargs):
            for i, item in enumerate(tag_posts(nlp, posts, **kwargs)):
                if i == n:
                    raise KeyboardInterrupt
                tagged_lines.append(item[0].line)
                yield item
        return tag

    output = tmp_path / "out.jsonl"
    monkeypatch.setattr(predict_cli, "tag_posts", interrupted_after(6))
    assert main(["predict", str(model), str(sixteen_lines), str(output), "--batch-size", "4"]) == 130
    assert f"interrupted: 6 lines are in {output}; add --resume" in capsys.readouterr().err
    # written as it went: the done lines are in the file
    assert output.read_text(encoding="utf8").splitlines() == full.read_text(encoding="utf8").splitlines()[:6]
    with open(output, "a", encoding="utf8") as file:  # a kill in the middle of a line
        file.write('{"line": 7, "id": 6, "te')

    tagged_lines.clear()
    monkeypatch.setattr(predict_cli, "tag_posts", interrupted_after(10_000))
    assert main(["predict", str(model), str(sixteen_lines), str(output), "--batch-size", "4", "--resume"]) == 0
    assert "10 lines read (after the 6 lines already there)" in capsys.readouterr().out
    assert tagged_lines == list(range(7, 17))  # the done lines were not tagged again
    rows = lambda path: [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]  # noqa: E731
    assert_same_predictions(rows(output), rows(full))  # other batches than the full run's


def test_resume_refuses_an_output_that_is_not_predicts(model, sixteen_lines, tmp_path, capsys):
    output = tmp_path / "out.jsonl"
    written = '{"line": 1}\n{"line": 5}\n{"line": 3, "te'  # ... and a last line cut short
    output.write_text(written, encoding="utf8")
    assert main(["predict", str(model), str(sixteen_lines), str(output), "--resume"]) == 1
    assert capsys.readouterr().err == f"error: --resume: {output} has 2 lines but its last one is for input line 5\n"
    assert output.read_text(encoding="utf8") == written  # refused before anything was cut


def test_resume_refuses_an_output_longer_than_the_input(model, sixteen_lines, tmp_path, capsys):
    output = tmp_path / "out.jsonl"
    output.write_text("".join(f'{{"line": {i}}}\n' for i in range(1, 18)), encoding="utf8")
    assert main(["predict", str(model), str(sixteen_lines), str(output), "--resume"]) == 1
    assert "has 17 lines, more than" in capsys.readouterr().err


def test_threshold_drops_the_entities_below_it(model, sixteen_lines, tmp_path):
    everything, confident = tmp_path / "all.jsonl", tmp_path / "confident.jsonl"
    assert main(["predict", str(model), str(sixteen_lines), str(everything)]) == 0
    assert main(["predict", str(model), str(sixteen_lines), str(confident), "--threshold", "0.6"]) == 0
    scores = [ent["score"] for row in read_rows(everything) for ent in row.get("entities", [])]
    assert any(score < 0.6 for score in scores) and any(score >= 0.6 for score in scores)
    for row, kept in zip(read_rows(everything), read_rows(confident)):
        if "entities" in row:
            assert kept["entities"] == [ent for ent in row["entities"] if ent["score"] >= 0.6]
