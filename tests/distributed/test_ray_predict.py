"""`predict --engine ray`: the same lines as the single-process `predict`, bad lines as error lines, and
every input line exactly once even when a worker is killed mid-run."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest
from PIL import Image
from skimage import data
from spacy.language import Language

from spacy_mner.__main__ import main
from spacy_mner.distributed.ray_predict import ShardTagger, input_files, plan_chunks

POSTS = [
    (["Obama", "visits", "Paris", "today"], ["B-PER", "O", "B-LOC", "O"]),
    (["@NASA", "launches", "from", "Florida", "!"], ["B-ORG", "O", "O", "B-LOC", "O"]),
]


@pytest.fixture
def model(save_trained_cwi):
    """A seeded, briefly trained pipeline: the real EfficientNet-Lite0 `image_labels`, then a small CWI."""
    return save_trained_cwi(POSTS, steps=10)


@Language.component("record_ops_for_test")
def record_ops(doc):
    """Notes the thinc ops (CPU or GPU backend) in effect when the pipeline runs."""
    from thinc.api import get_current_ops

    RECORDED_OPS.append(get_current_ops())
    return doc


RECORDED_OPS = []


def read_shards(folder):
    """The output lines of a shard folder, in shard-name order (the documented way to restore input order)."""
    return [json.loads(line) for shard in sorted(folder.glob("*.jsonl"))
            for line in shard.read_text(encoding="utf8").splitlines()]


def without_line(single):
    """The single-process `predict`'s rows without `line` (it numbers the lines of one file)."""
    return [{key: value for key, value in row.items() if key != "line"} for row in single]


def test_input_files_and_chunks_cover_every_line(tmp_path):
    for name, count in [("a.jsonl", 5), ("b.jsonl", 3), ("c.txt", 2)]:
        (tmp_path / name).write_text("".join(f'{{"text": "post {i}"}}\n' for i in range(count)))
    (tmp_path / "empty.jsonl").write_text("")
    files = input_files(tmp_path)
    assert [path.name for path in files] == ["a.jsonl", "b.jsonl", "empty.jsonl"]
    assert input_files(tmp_path / "[ab].jsonl") == files[:2]
    assert input_files(tmp_path / "c.txt") == [tmp_path / "c.txt"]
    chunks = list(plan_chunks(files, 2))
    assert [(chunk.first_line, chunk.lines) for chunk in chunks] == [(1, 2), (3, 2), (5, 1), (1, 2), (3, 1)]
    assert len({chunk.shard for chunk in chunks}) == 5 and sorted(c.shard for c in chunks) == [c.shard for c in chunks]
    first = (tmp_path / "a.jsonl").read_bytes()
    assert b"".join(first[c.offset:c.offset + c.length] for c in chunks[:3]) == first


def test_without_ray_a_clear_error(model, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    (tmp_path / "posts.jsonl").write_text('{"text": "Obama"}\n')
    assert main(["predict", str(model), str(tmp_path / "posts.jsonl"), str(tmp_path / "out"), "--engine", "ray"]) == 1
    assert capsys.readouterr().err == 'error: --engine ray needs Ray, which is not installed: pip install "spacy-mner[ray]"\n'


def test_same_lines_as_predict_from_a_folder_of_shards(ray_session, model, every_kind_of_line, tmp_path, capsys,
                                                        assert_same_predictions):
    cat = tmp_path / "cat.jpg"
    lines = [*every_kind_of_line, json.dumps({"text": "@NASA visits Florida", "image": str(cat), "id": 10})]
    whole = tmp_path / "posts.jsonl"
    whole.write_text("\n".join(lines) + "\n", encoding="utf8")
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "part-0.jsonl").write_text("\n".join(lines[:5]) + "\n", encoding="utf8")
    (shards / "part-1.jsonl").write_text("\n".join(lines[5:]) + "\n", encoding="utf8")

    assert main(["predict", str(model), str(whole), str(tmp_path / "single.jsonl")]) == 0
    single = [json.loads(line) for line in (tmp_path / "single.jsonl").read_text(encoding="utf8").splitlines()]
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["predict", str(model), str(shards), str(out), "--engine", "ray", "--workers", "2",
                 "--lines-per-shard", "2", "--batch-size", "2"]) == 0
    captured = capsys.readouterr()
    errors = sum("error" in row for row in single)
    assert errors == 5 and any("image_error" in row for row in single)
    assert f"10 lines read, {10 - errors} posts predicted, {errors} errors: 6 shards in" in captured.out
    assert f"{shards / 'part-0.jsonl'}, line 2: not JSON" in captured.err
    assert f"{shards / 'part-0.jsonl'}, line 4 (id 4): " in captured.err  # the missing image, as predict says

    rows = read_shards(out)
    assert len(rows) == len(single) == 10
    positions = [(row.pop("file"), row.pop("line")) for row in rows]
    assert positions == [(str(shards / f"part-{part}.jsonl"), n) for part in (0, 1) for n in range(1, 6)]
    assert_same_predictions(rows, without_line(single))
    assert sum(bool(row.get("image_labels")) for row in rows) == 2 and any(row.get("entities") for row in rows)
    assert not list(out.glob(".*"))  # no partial shard left


def test_a_killed_worker_is_retried_and_no_line_is_lost_or_repeated(ray_session, model, tmp_path, capsys):
    posts = tmp_path / "posts.jsonl"
    lines = [json.dumps({"text": f"Obama visits Paris on day {i}", "id": i}) if i % 100 else "{broken"
             for i in range(1, 3001)]
    posts.write_text("\n".join(lines) + "\n", encoding="utf8")
    out = tmp_path / "out"
    status = []
    run = threading.Thread(target=lambda: status.append(main(
        ["predict", str(model), str(posts), str(out), "--engine", "ray", "--workers", "2",
         "--lines-per-shard", "50"])))
    run.start()
    deadline, killed, shards_at_kill = time.monotonic() + 120, None, None
    while killed is None and time.monotonic() < deadline and run.is_alive():
        if out.is_dir() and list(out.glob("*.jsonl")):
            workers = [p for p in psutil.process_iter(["pid", "cmdline"])
                       if any("MapWorker" in part for part in p.info["cmdline"] or [])]
            if workers:
                shards_at_kill = len(list(out.glob("*.jsonl")))
                os.kill(workers[0].info["pid"], signal.SIGKILL)
                killed = workers[0].info["pid"]
        time.sleep(0.05)
    run.join(timeout=180)
    assert killed is not None and not run.is_alive() and status == [0]
    assert shards_at_kill < 60  # the kill came mid-run
    rows = read_shards(out)
    assert [row["line"] for row in rows] == list(range(1, 3001))
    assert sum("error" in row for row in rows) == 30
    assert "3000 lines read, 2970 posts predicted, 30 errors: 60 shards" in capsys.readouterr().out


def test_a_model_the_workers_cannot_load_is_a_one_line_error(ray_session, tmp_path, capsys):
    (tmp_path / "model").mkdir()
    (tmp_path / "posts.jsonl").write_text('{"text": "Obama"}\n')
    assert main(["predict", str(tmp_path / "model"), str(tmp_path / "posts.jsonl"), str(tmp_path / "out"),
                 "--engine", "ray", "--workers", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: the Ray run failed: {tmp_path / 'model'}: cannot load a spaCy pipeline")


def test_resume_after_an_interrupted_run_tags_only_the_missing_shards(ray_session, model, tmp_path, capsys):
    posts = tmp_path / "posts.jsonl"
    posts.write_text("".join(json.dumps({"text": f"Obama visits Paris on day {i}", "id": i}) + "\n"
                             for i in range(1, 4001)), encoding="utf8")
    out = tmp_path / "out"
    command = ["predict", str(model), str(posts), str(out), "--engine", "ray", "--workers", "2",
               "--lines-per-shard", "40"]
    # the interrupted run is a driver of its own on the session's Ray, stopped with Ctrl-C (SIGINT) mid-run
    driver = subprocess.Popen([sys.executable, "-m", "spacy_mner", *command, "--address",
                               ray_session.get_runtime_context().gcs_address],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              # a child inherits an ignored SIGINT (as some earlier test or library leaves it
                              # in this process), and Python then never raises KeyboardInterrupt: restore it
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while driver.poll() is None and time.monotonic() < deadline and not list(out.glob("*.jsonl")):
        time.sleep(0.05)
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 130 and "add --resume to go on" in err
    deadline = time.monotonic() + 30  # the dead run's workers are stopped by Ray: wait until none writes
    while time.monotonic() < deadline and any("MapWorker" in " ".join(p.info["cmdline"] or [])
                                               for p in psutil.process_iter(["cmdline"])):
        time.sleep(0.1)
    kept = {shard.name: (shard.stat().st_ino, shard.stat().st_mtime_ns) for shard in out.glob("*.jsonl")}
    assert 0 < len(kept) < 100  # interrupted mid-run

    assert main([*command, "--resume"]) == 0
    assert (f"{4000 - 40 * len(kept)} lines read (after the {40 * len(kept)} lines already in {len(kept)} shards)"
            in capsys.readouterr().out)
    assert {name: (out / name).stat().st_ino for name in kept} == {name: ino for name, (ino, _) in kept.items()}
    assert all((out / name).stat().st_mtime_ns == mtime for name, (_, mtime) in kept.items())  # not tagged again
    rows = read_shards(out)
    assert [row["line"] for row in rows] == list(range(1, 4001)) and [row["id"] for row in rows] == list(range(1, 4001))
    assert not list(out.glob(".*"))  # no partial shard left

    assert main([*command, "--resume"]) == 0
    assert "0 lines read (after the 4000 lines already in 100 shards)" in capsys.readouterr().out
    assert main([*command[:-1], "50", "--resume"]) == 1
    assert "is not a shard of" in capsys.readouterr().err


def test_parquet_rows_are_read_as_jsonl_lines(ray_session, model, tmp_path, capsys, assert_same_predictions):
    import pyarrow as pa
    import pyarrow.parquet as pq

    cat = tmp_path / "cat.jpg"
    Image.fromarray(data.chelsea()).save(cat)
    posts = [{"text": "Obama visits Paris today", "image": None, "id": 1, "source": "web"},
             {"text": None, "image": None, "id": 2, "source": "web"},
             {"text": "Chelsea watching @NASA launches from Florida !", "image": str(cat), "id": 3, "source": "app"},
             {"text": "Paris in the rain again", "image": None, "id": 4, "source": "app"},
             {"text": "@NASA visits Florida", "image": str(tmp_path / "missing.jpg"), "id": 5, "source": "web"}]
    pq.write_table(pa.Table.from_pylist(posts), tmp_path / "posts.parquet", row_group_size=2)
    (tmp_path / "posts.jsonl").write_text("".join(json.dumps(post) + "\n" for post in posts), encoding="utf8")
    assert main(["predict", str(model), str(tmp_path / "posts.jsonl"), str(tmp_path / "single.jsonl")]) == 0
    single = [json.loads(line) for line in (tmp_path / "single.jsonl").read_text(encoding="utf8").splitlines()]
    capsys.readouterr()

    out = tmp_path / "out"  # chunks of 3 rows across row groups of 2
    assert main(["predict", str(model), str(tmp_path / "posts.parquet"), str(out), "--engine", "ray",
                 "--workers", "1", "--lines-per-shard", "3"]) == 0
    err = capsys.readouterr().err
    assert f'{tmp_path / "posts.parquet"}, row 2 (id 2): no "text"' in err
    assert f'{tmp_path / "posts.parquet"}, row 5 (id 5): ' in err  # the missing image
    rows = read_shards(out)
    positions = [(row.pop("file"), row.pop("line")) for row in rows]
    assert positions == [(str(tmp_path / "posts.parquet"), n) for n in range(1, 6)]
    assert_same_predictions(rows, without_line(single))
    assert rows[2]["image_labels"] and "error" in rows[1]

    pq.write_table(pa.table({"body": ["no text column"]}), tmp_path / "other.parquet")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    for name, message in [("other.parquet", 'no "text" column (its columns: body)'),
                          ("broken.parquet", "not a readable Parquet file")]:
        out = str(tmp_path / name) + ".out"
        assert main(["predict", str(model), str(tmp_path / name), out, "--engine", "ray"]) == 1
        assert capsys.readouterr().err.startswith(f"error: {tmp_path / name}: {message}")


def test_a_worker_tags_with_the_ops_it_loaded_the_pipeline_with_from_any_thread(model, tmp_path):
    """Ray Data calls a worker from threads of its own; the pipeline must still run on the backend (a GPU
    worker's CupyOps) that load_pipeline chose in the worker's constructor, `image_labels` included."""
    (tmp_path / "posts.jsonl").write_text('{"text": "Obama visits Paris"}\n', encoding="utf8")
    (tmp_path / "out").mkdir()
    tagger = ShardTagger(str(model), str(tmp_path / "out"), str(tmp_path), threads=1, use_gpu=False, batch_size=2,
                         threshold=None)
    tagger.nlp.add_pipe("record_ops_for_test")
    chunk = next(plan_chunks(input_files(tmp_path / "posts.jsonl"), 10))
    RECORDED_OPS.clear()
    call = threading.Thread(target=tagger, args=({field: [value] for field, value in chunk._asdict().items()},))
    call.start()
    call.join(timeout=60)
    assert len(RECORDED_OPS) == 1 and RECORDED_OPS[0] is tagger.ops
    assert (tmp_path / "out" / chunk.shard).is_file()
