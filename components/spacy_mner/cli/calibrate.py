"""Fit the entity confidences' temperature on a dev set (a .spacy file with gold entities, as `convert`
writes it) and save the pipeline with it, so that its scores mean what they say. Prints the dev log loss
and expected calibration error before and after; where the pipeline finds no entity on dev, it warns and
leaves the pipeline as it is.
"""
import argparse
import sys
from pathlib import Path

from .errors import CliError
from .loading import add_gpu_argument, load_pipeline


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, help="trained pipeline folder (e.g. training/sample/cwi/model-best)")
    parser.add_argument("dev", type=Path, help="dev posts with gold entities (.spacy, as `convert` writes it)")
    parser.add_argument("--output", type=Path, default=None, help="where to save the calibrated pipeline (default: MODEL, in place)")
    add_gpu_argument(parser)


def run(args: argparse.Namespace) -> int:
    from spacy.tokens import DocBin

    from ..corpus.text_modes import examples_in_mode
    from ..pipeline.calibration import NothingToCalibrate, fit_temperature

    try:
        if not args.dev.is_file():
            raise CliError(f"{args.dev}: no such file")
        nlp = load_pipeline(str(args.model), args.gpu_id)
        try:
            golds = list(DocBin(store_user_data=True).from_disk(args.dev).get_docs(nlp.vocab))
        except Exception as error:  # a file that is not a DocBin fails deep inside msgpack/zlib
            raise CliError(f"{args.dev}: not a .spacy file ({type(error).__name__})") from None
        examples = examples_in_mode(nlp, golds, "tokens")
        predicted = list(nlp.pipe([eg.predicted for eg in examples]))
        try:
            fit = fit_temperature(nlp, predicted, [eg.reference for eg in examples])
        except NothingToCalibrate as error:
            # e.g. a model trained for a moment: keep its temperature rather than fail a workflow
            print(f"warning: {args.model} on {args.dev}: {error}; its temperature stays as it was", file=sys.stderr)
            return 0
        except ValueError as error:
            raise CliError(f"{args.model}: {error}") from None
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    output = args.output or args.model
    nlp.to_disk(output)
    print(f"{args.dev}: {fit.entities} predicted entities; temperature {fit.temperature:.3f}; "
          f"log loss {fit.log_loss_before:.4f} -> {fit.log_loss_after:.4f}; "
          f"ECE {fit.ece_before:.4f} -> {fit.ece_after:.4f}; saved to {output}")
    return 0
