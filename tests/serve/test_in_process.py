"""The micro-batcher, the result builder and the command's errors, in process (no server)."""
import asyncio
import threading
import time

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Span

from spacy_mner.__main__ import main
from spacy_mner.serve.batcher import MicroBatcher
from spacy_mner.serve.tagging import Post, PostError, doc_result, tag


def test_jobs_that_arrive_together_run_together_in_one_thread():
    calls, threads = [], set()

    def process(items):
        calls.append(list(items))
        threads.add(threading.get_ident())
        time.sleep(0.02)
        return [item * 10 for item in items]

    async def main():
        batcher = MicroBatcher(process, max_batch_size=8, max_wait=0.01)
        batcher.start()
        results = await asyncio.gather(*(batcher.submit([i]) for i in range(20)), batcher.submit([100, 101]))
        await batcher.stop()
        return results

    results = asyncio.run(main())
    assert results == [[i * 10] for i in range(20)] + [[1000, 1010]]
    assert sorted(item for call in calls for item in call) == list(range(20)) + [100, 101]
    assert all(len(call) <= 8 for call in calls) and len(calls) <= 4  # 22 posts in batches of at most 8
    assert len(threads) == 1 and threading.get_ident() not in threads


def test_one_job_waits_at_most_max_wait_and_a_failure_fails_its_group_only():
    def process(items):
        if "boom" in items:
            raise RuntimeError("model failed")
        return items

    async def main():
        batcher = MicroBatcher(process, max_batch_size=8, max_wait=0.05)
        batcher.start()
        started = time.monotonic()
        assert await batcher.submit(["a"]) == ["a"]
        waited = time.monotonic() - started
        with pytest.raises(RuntimeError, match="model failed"):
            await batcher.submit(["boom"])
        assert await batcher.submit(["b"]) == ["b"]  # the loop goes on
        # a caller that gives up is skipped, and the others are still answered
        late = asyncio.ensure_future(batcher.submit(["late"]))
        await asyncio.sleep(0)
        late.cancel()
        assert await batcher.submit(["c"]) == ["c"]
        await batcher.stop()
        return waited

    assert 0.04 <= asyncio.run(main()) < 1.0


def test_entity_scores_come_from_the_pipelines_span_group():
    nlp = spacy.blank("en")
    doc = nlp("\U0001F600 Obama visits Paris")
    doc.ents = [Span(doc, 1, 2, "PER"), Span(doc, 3, 4, "LOC")]
    assert [e["score"] for e in doc_result(doc, "ents")["entities"]] == [None, None]
    doc.spans["ents"] = list(doc.ents)
    doc.spans["ents"].attrs["scores"] = [0.9, 0.4]
    assert [e["score"] for e in doc_result(doc, "other")["entities"]] == [None, None]  # another key: none
    assert [e["score"] for e in doc_result(doc, None)["entities"]] == [None, None]  # scores turned off
    result = doc_result(doc, "ents")
    assert [(e["text"], e["start"], e["end"], e["label"], e["score"]) for e in result["entities"]] == [
        ("Obama", 2, 7, "PER", pytest.approx(0.9)), ("Paris", 15, 20, "LOC", pytest.approx(0.4))]
    assert result["image_labels"] == []


def test_serve_command_errors(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope'}: no such folder (nor an installed pipeline package)\n"
    assert main(["serve", str(tmp_path), "--max-in-flight", "0"]) == 1
    assert capsys.readouterr().err == "error: limit max_in_flight must be positive, not 0\n"


@Language.component("serve_test_fails_on_boom")
def fails_on_boom(doc):
    if "boom" in doc.text:
        raise ValueError("boom in the text")
    return doc


def test_a_post_a_component_fails_on_gets_500_and_its_group_is_tagged():
    nlp = spacy.blank("en")
    nlp.add_pipe("serve_test_fails_on_boom")
    outcomes = tag(nlp, [Post("fine"), Post("boom here"), Post("also fine"), Post("x", b"not an image")])
    assert [o["text"] if isinstance(o, dict) else o.status for o in outcomes] == ["fine", 500, "also fine", 415]
    assert isinstance(outcomes[1], PostError) and "ValueError: boom in the text" in outcomes[1].detail
