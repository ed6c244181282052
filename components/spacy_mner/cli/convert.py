"""Convert a Twitter-2015 format file (IMGID blocks of token<TAB>BIO-tag) into a spaCy DocBin."""
import argparse
import sys
from pathlib import Path

from ..corpus.convert import convert
from ..corpus.twitter import CorpusFormatError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="Twitter-2015 format file")
    parser.add_argument("output", type=Path, help="DocBin to write (.spacy)")
    parser.add_argument("--images", type=Path, default=None, help="folder holding <IMGID>.jpg files")
    parser.add_argument("--captions", type=Path, default=None, help="captions file: '<id>.jpg :caption' lines")


def run(args: argparse.Namespace) -> int:
    if args.images is not None and not args.images.is_dir():
        print(f"warning: --images {args.images}: no such folder; the posts get no image path", file=sys.stderr)
        args.images = None
    try:
        stats = convert(args.input, args.output, images=args.images, captions=args.captions)
    except CorpusFormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{args.input} -> {args.output}: {stats.report()}")
    return 0
