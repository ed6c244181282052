"""scripts/report.py: the scores table beside the paper's, the F1 chart, and the error counts."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from PIL import Image
from spacy.tokens import DocBin

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "report.py"


def load_script():
    spec = importlib.util.spec_from_file_location("report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_report(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def write_scores(path, p, r, f, per_type):
    """A file as `spacy evaluate --output` writes it (scores 0-1, types with p/r/f)."""
    scores = {"token_acc": None, "ents_p": p, "ents_r": r, "ents_f": f, "speed": 1000.0,
              "ents_per_type": {label: {"p": f1, "r": f1, "f": f1} for label, f1 in per_type.items()}}
    path.write_text(json.dumps(scores))


@pytest.fixture
def metrics(tmp_path):
    folder = tmp_path / "metrics" / "sample"
    folder.mkdir(parents=True)
    write_scores(folder / "cwi.json", 0.7, 0.6, 0.6462, {"PER": 0.8, "LOC": 0.75, "ORG": 0.5, "OTHER": 0.3333})
    write_scores(folder / "msb.json", 0.8, 0.7, 0.7467, {"PER": 0.9, "LOC": 0.8, "ORG": 0.6})
    (folder / "notes.json").write_text('{"not": "scores"}')
    return folder


def test_columns_are_the_types_the_metrics_score(tmp_path):
    """Six WNUT-style types, none of the paper's: one column each, no PER/LOC/ORG/OTHER column."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    types = ["person", "location", "corporation", "product", "creative-work", "group"]
    write_scores(folder / "cwi.json", 0.5, 0.5, 0.5, {t: 0.1 * (i + 1) for i, t in enumerate(types)})
    result = run_report("--metrics", folder, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf8")
    assert "| model | scored on | P | R | F1 | corporation | creative-work | group | location | person | product |" in report
    assert "| cwi | ours: metrics | 50.00 | 50.00 | 50.00 | 30.00 | 50.00 | 60.00 | 20.00 | 10.00 | 40.00 |" in report
    assert "PER" not in report and "OTHER" not in report


def test_scores_table_and_chart(metrics, tmp_path):
    out = tmp_path / "reports" / "sample"
    result = run_report("--metrics", metrics, "--out", out)
    assert result.returncode == 0, result.stderr
    assert f"skipped {metrics / 'notes.json'}: no NER scores (ents_f)" in result.stderr
    report = (out / "report.md").read_text(encoding="utf8")
    assert "| cwi | ours: sample | 70.00 | 60.00 | 64.62 | 75.00 | 50.00 | 33.33 | 80.00 |" in report
    assert "| msb | ours: sample | 80.00 | 70.00 | 74.67 | 80.00 | 60.00 | – | 90.00 |" in report
    assert "| CWI | paper: Twitter-2015 | – | – | 71.61 | – | – | – | – |" in report
    assert "| MSB-Small+CRF | paper: Twitter-2015 | – | – | 73.47 |" in report
    assert report.count("paper: Twitter-2015") == 9 and "**Twitter-2015**" in report and '"MISC"' in report
    assert "## Errors" not in report
    with Image.open(out / "f1.png") as chart:
        chart.verify()
        assert chart.format == "PNG" and chart.size[0] > 600


def test_error_counts_of_a_model(metrics, tmp_path):
    """An entity ruler makes each kind of error once on a five-post corpus."""
    nlp = spacy.blank("en")
    patterns = [("PER", "Ana"), ("ORG", "Paris"), ("LOC", "New York"), ("LOC", "Florida"), ("ORG", "Apple"),
                ("OTHER", "World Cup")]
    nlp.add_pipe("entity_ruler").add_patterns([{"label": label, "pattern": text} for label, text in patterns])
    nlp.to_disk(tmp_path / "ruler")
    gold = [
        ("Ana lives in Paris", [("Ana", "PER"), ("Paris", "LOC")]),  # Paris: LOC->ORG
        ("New York Knicks win", [("New York Knicks", "ORG")]),  # partial span
        ("NASA and Florida", [("NASA", "ORG"), ("Florida", "LOC")]),  # NASA missed
        ("lol Apple pie", []),  # Apple invented
        ("World Cup today", [("World Cup", "OTHER")]),
    ]
    docs = []
    for text, ents in gold:
        doc = nlp.make_doc(text)
        doc.ents = [doc.char_span(text.index(words), text.index(words) + len(words), label) for words, label in ents]
        doc._.image_id = "img"
        docs.append(doc)
    DocBin(store_user_data=True, docs=docs).to_disk(tmp_path / "test.spacy")

    out = tmp_path / "out"
    result = run_report("--metrics", metrics, "--out", out, "--corpus", tmp_path / "test.spacy",
                        "--models", f"ruler={tmp_path / 'ruler'}")
    assert result.returncode == 0, result.stderr
    report = (out / "report.md").read_text(encoding="utf8")
    assert f"## Errors on `{tmp_path / 'test.spacy'}`" in report and "### ruler" in report
    rows = report.split("### ruler")[1].strip().splitlines()[2:]
    assert rows == [
        "| LOC | 2 | 1 | LOC->ORG 1 | 0 | 0 | 0 |",
        "| ORG | 2 | 0 | – | 1 | 1 | 1 |",
        "| OTHER | 1 | 1 | – | 0 | 0 | 0 |",
        "| PER | 1 | 1 | – | 0 | 0 | 0 |",
        "| all | 6 | 3 | 1 | 1 | 1 | 1 |",
    ]


def test_error_counts_by_span():
    counts = load_script().ErrorCounts()
    counts.add(gold=[(0, 4, "ORG"), (10, 15, "PER"), (20, 25, "LOC")],
               predicted=[(0, 4, "LOC"), (12, 18, "PER"), (13, 14, "PER"), (30, 33, "OTHER")])
    assert counts.confused == {("ORG", "LOC"): 1} and counts.partial == {"PER": 1}
    assert counts.missed == {"LOC": 1} and counts.invented == {"OTHER": 1} and not counts.correct


@pytest.mark.parametrize("args, message", [
    (["--metrics", "{tmp}/nope", "--out", "{tmp}/out"], "{tmp}/nope: no such folder"),
    (["--metrics", "{tmp}", "--out", "{tmp}/out"], "{tmp}: no `spacy evaluate` output with NER scores (*.json)"),
    (["--metrics", "{tmp}", "--out", "{tmp}/out", "--corpus", "c.spacy"], "--corpus and --models go together"),
    (["--metrics", "{tmp}", "--out", "{tmp}/out", "--corpus", "c.spacy", "--models", "cwi"],
     "--models wants NAME=PATH, not 'cwi'"),
])
def test_errors(args, message, tmp_path, capsys):
    assert load_script().main([arg.format(tmp=tmp_path) for arg in args]) == 1
    assert capsys.readouterr().err == f"error: {message.format(tmp=tmp_path)}\n"
    assert not (tmp_path / "out").exists()
