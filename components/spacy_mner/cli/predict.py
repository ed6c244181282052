"""Tag posts from a JSONL file with a trained pipeline and write the entities and image labels as JSONL.

Each input line is `{"text": ..., "image": path or null, "id": ...}`; each output line, in the same order,
is `{"line": N, "id": ..., "text": ..., "entities": [{"start", "end", "label", "text", "score"}],
"image_labels": [[label, prob], ...]}`, plus `"image_error"` when the post's image could not be used (the
post is then tagged from its text). `score` is the entity's confidence (see docs/confidence.md; null for a
pipeline that gives none) and `--threshold` drops entities below it. A line that cannot be tagged (blank,
not JSON, no text, too long) is reported on stderr and written as `{"line": N, "id": ... (when known),
"error": ...}`: the output always has one line per input line. Lines are written as they are tagged, so an
interrupted run keeps what it has done, and `--resume` goes on after the output's last line.
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, Optional

from spacy.tokens import Doc
from tqdm import tqdm

from ..distributed import ray_predict
from ..pipeline.confidence import entity_scores, pipeline_spans_key
from .errors import CliError
from .jsonl import JsonlPost, count_lines, read_jsonl_posts, report
from .loading import add_gpu_argument, load_pipeline
from .tagging import tag_posts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="trained pipeline: a folder (e.g. training/sample/cwi/model-best) or package")
    parser.add_argument("input", type=Path, help="JSONL file of posts")
    parser.add_argument("output", type=Path, help="JSONL file to write, one line per input line")
    parser.add_argument("--batch-size", type=int, default=64, help="posts buffered per nlp.pipe batch")
    parser.add_argument("--n-process", type=int, default=1, help="processes for nlp.pipe (-1: one per CPU)")
    add_gpu_argument(parser)
    parser.add_argument("--threshold", type=float, default=None,
                        help="leave out entities whose confidence (score) is below this, 0-1")
    parser.add_argument("--resume", action="store_true",
                        help="OUTPUT holds the first lines (--engine ray: the complete shards) of an interrupted "
                             "run: go on after them")
    parser.add_argument("--engine", choices=["local", "ray"], default="local",
                        help="local (default): this process (and --n-process); ray: Ray Data workers, "
                             "OUTPUT a folder of shards")
    ray_predict.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        return ray_predict.run(args)
    try:
        if not args.input.is_file():
            raise CliError(f"{args.input}: no such file")
        if args.batch_size < 1 or args.n_process == 0 or args.n_process < -1:
            raise CliError("--batch-size must be at least 1 and --n-process at least 1 (or -1)")
        if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
            raise CliError(f"--threshold must be between 0 and 1, not {args.threshold}")
        done = lines_done(args.output) if args.resume else 0
        if done > count_lines(args.input):
            raise CliError(f"--resume: {args.output} has {done} lines, more than {args.input} has: another input's output?")
        if args.n_process != 1:
            import torch

            # nlp.pipe forks its workers; a child forked after torch has run an OpenMP region with several
            # threads deadlocks in its first torch op. One thread per process avoids that (and oversubscription).
            torch.set_num_threads(1)
        nlp = load_pipeline(args.model, args.gpu_id)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    read = errors = 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    key = pipeline_spans_key(nlp)
    posts = read_jsonl_posts(args.input, skip=done)
    tagged = tag_posts(nlp, posts, batch_size=args.batch_size, n_process=args.n_process)
    total = count_lines(args.input) - done
    # line-buffered: each line reaches the file as soon as it is written
    with open(args.output, "a" if done else "w", encoding="utf8", buffering=1) as out:
        try:
            for post, doc in tqdm(tagged, total=total, unit="post", desc="predicting"):
                if doc is None:
                    errors += 1
                    report(args.input, post)
                elif doc._.image_error:
                    report(args.input, post, f"{doc._.image_error}; tagged from its text")
                out.write(json.dumps(prediction(post, doc, key, args.threshold), ensure_ascii=False) + "\n")
                read += 1
        except KeyboardInterrupt:
            print(f"interrupted: {done + read} lines are in {args.output}; add --resume to go on", file=sys.stderr)
            return 130
    resumed = f" (after the {done} lines already there)" if done else ""
    print(f"{read} lines read{resumed}, {read - errors} posts predicted, {errors} errors: {args.output}")
    return 0


def lines_done(output: Path) -> int:
    """How many input lines an interrupted run wrote to `output` (0 if there is none); a last line cut
    short is removed, so that it is tagged again. Nothing is changed unless `output` is one that predict
    wrote (a CliError says why not)."""
    if not output.exists():
        return 0
    data = output.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    lines = complete.splitlines()
    if lines:
        try:
            last = json.loads(lines[-1])["line"]
        except (ValueError, KeyError, TypeError):
            raise CliError(f"--resume: {output}'s last line is not a line that predict writes") from None
        if last != len(lines):
            raise CliError(f"--resume: {output} has {len(lines)} lines but its last one is for input line {last}")
    if len(complete) < len(data):
        with open(output, "r+b") as file:
            file.truncate(len(complete))
    return len(lines)


def prediction(post: JsonlPost, doc: Optional[Doc], spans_key: Optional[str] = None,
               threshold: Optional[float] = None) -> Dict[str, Any]:
    """The output object of one input line (`doc` None: the line's error); `spans_key`: where the
    entities' scores are (`pipeline_spans_key(nlp)`), `threshold`: the lowest score kept."""
    out: Dict[str, Any] = {"line": post.line}
    if post.id is not None or doc is not None:
        out["id"] = post.id
    if doc is None:
        out["error"] = post.error
        return out
    scores = entity_scores(doc, spans_key)
    out["text"] = post.text
    out["entities"] = [
        {"start": ent.start_char, "end": ent.end_char, "label": ent.label_, "text": ent.text, "score": score}
        for ent, score in zip(doc.ents, scores)
        if threshold is None or (score is not None and score >= threshold)
    ]
    out["image_labels"] = [[label, float(prob)] for label, prob in doc._.image_labels or []]
    if doc._.image_error:
        out["image_error"] = doc._.image_error
    return out
