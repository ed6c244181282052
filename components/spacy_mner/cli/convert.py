"""Convert a Twitter-2015 format file (IMGID blocks of token<TAB>BIO-tag), or a CoNLL-2003 file, into a spaCy DocBin."""
import argparse
import sys
from pathlib import Path

from ..corpus.convert import FORMATS, convert
from ..corpus.twitter import CorpusFormatError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="Twitter-2015 format file (or CoNLL-2003 with --format conll2003)")
    parser.add_argument("output", type=Path, help="DocBin to write (.spacy)")
    parser.add_argument("--images", type=Path, default=None, help="folder holding <IMGID>.jpg files")
    parser.add_argument("--captions", type=Path, default=None, help="captions file: '<id>.jpg :caption' lines")
    parser.add_argument("--format", choices=list(FORMATS), default="twitter2015",
                        help="conll2003: token POS chunk NER lines, MISC read as OTHER (MSB's first stage)")


def run(args: argparse.Namespace) -> int:
    if args.format == "conll2003" and (args.images is not None or args.captions is not None):
        print("warning: --images and --captions are ignored with --format conll2003 (its sentences have no image)",
              file=sys.stderr)
        args.images = args.captions = None
    if args.images is not None and not args.images.is_dir():
        print(f"warning: --images {args.images}: no such folder; the posts get no image path", file=sys.stderr)
        args.images = None
    try:
        stats = convert(args.input, args.output, images=args.images, captions=args.captions, format=args.format)
    except CorpusFormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{args.input} -> {args.output}: {stats.report()}")
    return 0
