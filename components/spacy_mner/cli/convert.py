"""Convert a corpus file (Twitter-2015 IMGID blocks, CoNLL columns, Prodigy/doccano/Label Studio JSONL, or a
.spacy DocBin) with any entity types into a spaCy DocBin that keeps each post's image path and caption."""
import argparse
import sys
from pathlib import Path
from typing import Optional

from ..corpus.docbin import ALIASES, FORMATS, convert, parse_renames, resolve_format
from ..corpus.posts import CorpusFormatError
from ..tags import SCHEMES


def optional_path(value: str) -> Optional[Path]:
    """A path, or None for "" (a project var left empty)."""
    return Path(value) if value else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="corpus file (format told from the file unless --format)")
    parser.add_argument("output", type=Path, help="DocBin to write (.spacy)")
    parser.add_argument("--format", choices=["auto", *FORMATS, *ALIASES], default="auto",
                        help="auto (the default): told from the file; twitter: IMGID blocks of token<TAB>tag; "
                             "conll: token ... tag columns; jsonl: character offsets (Prodigy, doccano; a .json list or Label Studio export too); spacy: "
                             "a DocBin. twitter2015 = twitter; conll2003 = conll with --rename MISC=OTHER")
    parser.add_argument("--scheme", choices=list(SCHEMES), default=None,
                        help="the tags' scheme (tag formats): detected from the file unless given")
    parser.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                        help="rename an entity type (repeatable; several OLDs may share a NEW to merge types)")
    parser.add_argument("--images", type=optional_path, default=None,
                        help="folder holding each post's image as <image id>.jpg (or .png, ...); relative "
                             "per-post `image` paths of JSONL records are looked up here too")
    parser.add_argument("--captions", type=optional_path, default=None,
                        help="captions file: '<id>.jpg :caption' lines, keyed by image id")
    parser.add_argument("--lang", default="en", help="language of the tokenizer (the configs' social media tokenizer) for JSONL records "
                             "without tokens")


def run(args: argparse.Namespace) -> int:
    try:
        renames = parse_renames(args.rename)
        format, renames = resolve_format(None if args.format == "auto" else args.format, args.input, renames)
    except (ValueError, CorpusFormatError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if format == "conll" and (args.images is not None or args.captions is not None):
        print("warning: --images and --captions are ignored with CoNLL column files (their sentences have no image id)",
              file=sys.stderr)
        args.images = args.captions = None
    if args.images is not None and not args.images.is_dir():
        print(f"warning: --images {args.images}: no such folder; the posts get no image path", file=sys.stderr)
        args.images = None
    try:
        stats = convert(args.input, args.output, images=args.images, captions=args.captions, format=format,
                        scheme=args.scheme, renames=renames, lang=args.lang)
    except CorpusFormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{args.input} -> {args.output}: {stats.report()}")
    for warning in stats.warnings():
        print(f"warning: {args.input}: {warning}", file=sys.stderr)
    return 0
