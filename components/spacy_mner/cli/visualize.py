"""Tag posts from a JSONL file (as `predict` reads it) and write one HTML page showing each post's
entities (displaCy, with each entity's confidence), image thumbnail and top image labels. Bad lines are
reported on stderr and left out.
"""
import argparse
import sys
import warnings
from itertools import islice
from pathlib import Path
from typing import Iterator

from ..html_page import render_html
from ..image_labels.images import ImageWarning
from ..pipeline.confidence import pipeline_spans_key
from .errors import CliError
from .jsonl import JsonlPost, read_jsonl_posts, report
from .loading import add_gpu_argument, load_pipeline
from .tagging import tag_posts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="trained pipeline: a folder (e.g. training/sample/cwi/model-best) or package")
    parser.add_argument("input", type=Path, help="JSONL file of posts")
    parser.add_argument("output", type=Path, help="HTML file to write")
    parser.add_argument("--limit", type=int, default=None, help="show at most the first N posts")
    add_gpu_argument(parser)


def run(args: argparse.Namespace) -> int:
    try:
        if not args.input.is_file():
            raise CliError(f"{args.input}: no such file")
        if args.limit is not None and args.limit < 1:
            raise CliError("--limit must be at least 1")
        nlp = load_pipeline(args.model, args.gpu_id)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    docs, titles = [], []
    for post, doc in tag_posts(nlp, islice(usable(args.input), args.limit), batch_size=32, n_process=1):
        if doc is None:  # the pipeline could not tag it
            report(args.input, post)
            continue
        if doc._.image_error:
            report(args.input, post, f"{doc._.image_error}; tagged from its text")
        docs.append(doc)
        titles.append(f"line {post.line}" + ("" if post.id is None else f" · id {post.id}"))
    with warnings.catch_warnings():
        if "image_labels" in nlp.pipe_names:  # each unreadable image has been reported above
            warnings.simplefilter("ignore", ImageWarning)
        page = render_html(docs, titles=titles, heading=f"{args.model}: {args.input.name}",
                           spans_key=pipeline_spans_key(nlp))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(page, encoding="utf8")
    print(f"{len(docs)} posts shown: {args.output}")
    return 0


def usable(path: Path) -> Iterator[JsonlPost]:
    """The posts of `path` without an error; the others are reported."""
    for post in read_jsonl_posts(path):
        if post.error is None:
            yield post
        else:
            report(path, post)
