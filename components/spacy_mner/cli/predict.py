"""Tag posts from a JSONL file with a trained pipeline and write the entities and image labels as JSONL.

Each input line is `{"text": ..., "image": path or null, "id": ...}`; each output line, in the same order,
is `{"id": ..., "text": ..., "entities": [{"start", "end", "label", "text"}], "image_labels": [[label,
prob], ...]}`. A line that cannot be tagged (blank, not JSON, no text, a missing image file) is reported
on stderr and written as `{"line": N, "id": ... (when known), "error": ...}`: the output always has one
line per input line.
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import torch
from spacy.tokens import Doc
from tqdm import tqdm

from ..distributed import ray_predict
from .jsonl import CliError, Post, count_lines, load_pipeline, read_posts, report, tag_posts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="trained pipeline: a folder (e.g. training/sample/cwi/model-best) or package")
    parser.add_argument("input", type=Path, help="JSONL file of posts")
    parser.add_argument("output", type=Path, help="JSONL file to write, one line per input line")
    parser.add_argument("--batch-size", type=int, default=64, help="posts buffered per nlp.pipe batch")
    parser.add_argument("--n-process", type=int, default=1, help="processes for nlp.pipe (-1: one per CPU)")
    parser.add_argument("--gpu-id", type=int, default=-1, help="GPU to run on; -1 (default): CPU")
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
        if args.n_process != 1:
            # nlp.pipe forks its workers; a child forked after torch has run an OpenMP region with several
            # threads deadlocks in its first torch op. One thread per process avoids that (and oversubscription).
            torch.set_num_threads(1)
        nlp = load_pipeline(args.model, args.gpu_id)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    read = errors = 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    posts = read_posts(args.input)
    tagged = tag_posts(nlp, posts, batch_size=args.batch_size, n_process=args.n_process)
    with open(args.output, "w", encoding="utf8") as out:
        for post, doc in tqdm(tagged, total=count_lines(args.input), unit="post", desc="predicting"):
            read += 1
            if doc is None:
                errors += 1
                report(args.input, post)
            out.write(json.dumps(prediction(post, doc), ensure_ascii=False) + "\n")
    print(f"{read} lines read, {read - errors} posts predicted, {errors} errors: {args.output}")
    return 0


def prediction(post: Post, doc: Optional[Doc]) -> Dict[str, Any]:
    """The output object of one input line (`doc` None: the line's error)."""
    if doc is None:
        error: Dict[str, Any] = {"line": post.line}
        if post.id is not None:
            error["id"] = post.id
        error["error"] = post.error
        return error
    return {
        "id": post.id,
        "text": post.text,
        "entities": [
            {"start": ent.start_char, "end": ent.end_char, "label": ent.label_, "text": ent.text}
            for ent in doc.ents
        ],
        "image_labels": [[label, float(prob)] for label, prob in doc._.image_labels or []],
    }
