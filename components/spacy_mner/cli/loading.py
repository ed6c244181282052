"""Loading a trained pipeline onto the device the user chose: what every app (`predict`, `visualize`,
`label-images`, a server) does first, with a one-line `CliError` instead of a library's traceback."""
import argparse
from pathlib import Path

import spacy
from spacy.language import Language

from .errors import CliError


def add_gpu_argument(parser: argparse.ArgumentParser) -> None:
    """The `--gpu-id` option of every command that runs a model (read it with `use_device` or `load_pipeline`)."""
    parser.add_argument("--gpu-id", type=int, default=-1, help="GPU to run on; -1 (default): CPU")


def use_device(gpu_id: int) -> None:
    """Run spaCy (and the torch models under it) on GPU `gpu_id`; -1 leaves everything on the CPU."""
    if gpu_id >= 0:
        try:
            spacy.require_gpu(gpu_id)
        except ValueError as error:
            raise CliError(f"--gpu-id {gpu_id}: {error}") from None


def load_pipeline(model: str, gpu_id: int) -> Language:
    """`spacy.load(model)` on GPU `gpu_id` (-1: CPU); raises `CliError` with a one-line reason."""
    if not Path(model).exists() and not spacy.util.is_package(model):
        raise CliError(f"{model}: no such folder (nor an installed pipeline package)")
    use_device(gpu_id)
    try:
        return spacy.load(model)
    except Exception as error:  # spaCy, thinc and the components raise many types for a broken folder
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CliError(f"{model}: cannot load a spaCy pipeline ({reason})") from None
