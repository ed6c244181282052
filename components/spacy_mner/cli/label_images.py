"""Label the images of a DocBin's posts with an ImageNet classifier, once, ahead of training.

Reads INPUT (a DocBin whose docs carry `doc._.image` paths), sets `doc._.image_labels` of every post
(labels already there are replaced, so a corpus can be relabelled with another classifier) and writes
OUTPUT. The `image_labels` component then finds the labels and never reruns the classifier.
"""
import argparse
import sys
from pathlib import Path

from spacy.tokens import DocBin
from spacy.util import registry
from spacy.vocab import Vocab
from tqdm import tqdm

from ..image_labels.component import ImageLabeler
from .errors import CliError
from .loading import add_gpu_argument, use_device

# --classifier NAME -> the registered classifier it builds
CLASSIFIERS = {
    "efficientnet_lite0": "spacy_mner.efficientnet_lite0.v1",
    "inception_v3": "spacy_mner.inception_v3.v1",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="DocBin (.spacy) of posts with doc._.image paths")
    parser.add_argument("output", type=Path, help="DocBin to write, with doc._.image_labels set")
    parser.add_argument("--classifier", choices=sorted(CLASSIFIERS), default="efficientnet_lite0",
                        help="ImageNet classifier (inception_v3 needs its weights file in torch's cache)")
    parser.add_argument("--batch-size", type=int, default=32, help="images classified at once")
    parser.add_argument("--top-k", type=int, default=5, help="classes kept per image")
    add_gpu_argument(parser)


def run(args: argparse.Namespace) -> int:
    def fail(message: str) -> int:
        print(f"error: {message}", file=sys.stderr)
        return 1

    if not args.input.is_file():
        return fail(f"{args.input}: no such file")
    if args.batch_size < 1 or args.top_k < 1:
        return fail("--batch-size and --top-k must be at least 1")
    vocab = Vocab()
    try:
        docs = list(DocBin(store_user_data=True).from_disk(args.input).get_docs(vocab))
    except Exception as error:  # a file that is not a DocBin fails in zlib, msgpack or spaCy
        return fail(f"{args.input} is not a spaCy DocBin: {error}")
    try:
        use_device(args.gpu_id)
    except CliError as error:
        return fail(str(error))
    try:
        classifier = registry.misc.get(CLASSIFIERS[args.classifier])()
    except FileNotFoundError as error:
        return fail(str(error))

    labeler = ImageLabeler(vocab, classifier, top_k=args.top_k, batch_size=args.batch_size)
    for doc in docs:
        doc._.image_labels = None
    try:
        docs = list(tqdm(labeler.pipe(docs), total=len(docs), unit="post", desc=f"labelling ({args.classifier})"))
    except ValueError as error:  # a weights file that does not fit the network
        return fail(str(error))

    no_image = sum(doc._.image is None for doc in docs)
    labelled = sum(bool(doc._.image_labels) for doc in docs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    DocBin(store_user_data=True, docs=docs).to_disk(args.output)
    print(f"{labelled} posts labelled, {no_image} without an image, {len(docs) - labelled - no_image} with an "
          f"unreadable image: {args.output}")
    return 0
