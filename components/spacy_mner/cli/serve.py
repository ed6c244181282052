"""Serve a trained pipeline over HTTP (JSON API, OpenAPI at /openapi.json, demo page at /): see docs/serving.md.

Loads the pipeline once, starts one uvicorn worker with one model thread, and warms it up; /readyz answers
200 once it is. SIGTERM or Ctrl-C stops gracefully: requests in flight are answered, new connections refused.
Needs the `serve` extra: pip install "spacy-mner[serve]".
"""
import argparse
import sys

from ..serve.limits import Limits
from .errors import CliError
from .loading import add_gpu_argument, load_pipeline

DEFAULTS = Limits()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="trained pipeline: a folder (e.g. training/sample/cwi/model-best) or package")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8080)
    add_gpu_argument(parser)
    limits = parser.add_argument_group("limits")
    limits.add_argument("--max-body-bytes", type=int, default=DEFAULTS.max_body_bytes, help="413 above (default 16 MiB)")
    limits.add_argument("--max-text-chars", type=int, default=DEFAULTS.max_text_chars, help="422 for a longer text")
    limits.add_argument("--max-batch-posts", type=int, default=DEFAULTS.max_batch_posts,
                        help="422 for a longer /v1/ner/batch list")
    limits.add_argument("--max-form-fields", type=int, default=DEFAULTS.max_form_fields,
                        help="400 for an upload form with more fields")
    limits.add_argument("--max-in-flight", type=int, default=DEFAULTS.max_in_flight,
                        help="503 + Retry-After while this many model requests are being handled")
    limits.add_argument("--request-timeout", type=float, default=DEFAULTS.request_timeout,
                        help="504 when a request's posts are not tagged within this many seconds")
    limits.add_argument("--read-timeout", type=float, default=DEFAULTS.read_timeout,
                        help="408 when a request body has not arrived within this many seconds")
    limits.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size, help="most posts per nlp.pipe call")
    limits.add_argument("--max-wait-ms", type=float, default=DEFAULTS.max_wait * 1000,
                        help="how long a batch waits for more posts after its first (milliseconds)")
    limits.add_argument("--max-image-pixels", type=int, default=DEFAULTS.max_image_pixels,
                        help="422 for an image with more pixels to decode")


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..serve.app import create_app
    except ImportError as error:
        print(f"error: serving needs the serve extra (pip install \"spacy-mner[serve]\"): {error}", file=sys.stderr)
        return 1
    try:
        limits = Limits(args.max_body_bytes, args.max_text_chars, args.max_batch_posts, args.max_form_fields,
                        args.max_in_flight, args.request_timeout, args.read_timeout, args.batch_size,
                        args.max_wait_ms / 1000, args.max_image_pixels)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        nlp = load_pipeline(args.model, args.gpu_id)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    app = create_app(nlp, limits)
    # the graceful shutdown waits for the requests in flight, each of which ends within its time limits
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=False,
                timeout_graceful_shutdown=int(limits.read_timeout + limits.request_timeout) + 5)
    return 0
