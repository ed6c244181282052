"""Make the images of the bundled sample corpus from scikit-image's bundled photos.

The sample corpus (``corpus/sample``) is written by the project's authors and
ships no pictures: committing photos would bloat the repository and raise
licensing questions. Instead ``corpus/sample/images.tsv`` names, for each post
that has an image, one of scikit-image's bundled example photos (they install
with the package, so no network is needed) and a *variant* saying how the file
is to be written. The variants exercise the image-loading code paths that real
tweet images need:

``plain``
    an ordinary RGB (or grayscale, for grayscale photos) JPEG;
``gray``
    the photo converted to grayscale (mode ``L``);
``cmyk``
    a CMYK JPEG;
``palette``
    a palette (mode ``P``) PNG, saved under the ``.jpg`` name, as happens with
    scraped images (PIL opens it by sniffing its content, not its name);
``small``
    resized to 64x64 pixels;
``truncated``
    a JPEG cut to half its bytes, so that it cannot be decoded fully;
``missing``
    nothing is written, so that the post's image is missing.

Files go to ``<corpus-dir>/images/<id>.jpg``; that folder is git-ignored.
The script is idempotent: files already there are kept unless ``--force``
(which rewrites every file and removes those of ``missing`` posts), so rerun
it with ``--force`` after changing a variant in ``images.tsv``.

Usage::

    python scripts/make_sample_images.py [--corpus-dir corpus/sample] [--force]
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Callable

import numpy as np
import skimage.data
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS_DIR = REPO_ROOT / "corpus" / "sample"

# scikit-image photos that ship with the package (no download needed).
SOURCES: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": skimage.data.astronaut,
    "camera": skimage.data.camera,
    "chelsea": skimage.data.chelsea,
    "coffee": skimage.data.coffee,
    "coins": skimage.data.coins,
    "horse": skimage.data.horse,
    "hubble_deep_field": skimage.data.hubble_deep_field,
    "immunohistochemistry": skimage.data.immunohistochemistry,
    "rocket": skimage.data.rocket,
    # returns (left, right, disparity): the left view is a photo of a motorcycle
    "stereo_motorcycle": lambda: skimage.data.stereo_motorcycle()[0],
}

VARIANTS = ("plain", "gray", "cmyk", "palette", "small", "truncated", "missing")


def load_photo(name: str) -> Image.Image:
    """Return the named scikit-image photo as an 8-bit PIL image (RGB or L)."""
    if name not in SOURCES:
        raise ValueError(f"unknown image source {name!r}; known: {', '.join(SOURCES)}")
    array = np.asarray(SOURCES[name]())
    if array.dtype == bool:  # binary silhouettes (horse)
        array = array.astype(np.uint8) * 255
    if array.dtype != np.uint8:
        raise ValueError(f"{name}: unexpected dtype {array.dtype}")
    return Image.fromarray(array)


def encode(photo: Image.Image, variant: str) -> bytes | None:
    """Return the bytes of the file for ``variant``, or None for ``missing``."""
    if variant == "missing":
        return None
    buffer = io.BytesIO()
    if variant == "plain":
        photo.save(buffer, format="JPEG", quality=90)
    elif variant == "gray":
        photo.convert("L").save(buffer, format="JPEG", quality=90)
    elif variant == "cmyk":
        photo.convert("CMYK").save(buffer, format="JPEG", quality=90)
    elif variant == "palette":
        photo.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE).save(
            buffer, format="PNG"
        )
    elif variant == "small":
        photo.resize((64, 64), Image.Resampling.BILINEAR).save(
            buffer, format="JPEG", quality=90
        )
    elif variant == "truncated":
        photo.save(buffer, format="JPEG", quality=90)
        data = buffer.getvalue()
        return data[: len(data) // 2]
    else:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    return buffer.getvalue()


def read_table(path: Path) -> list[tuple[str, str, str]]:
    """Read ``images.tsv``: one ``<id>\\t<source>\\t<variant>`` line per image."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"{path}:{number}: expected 3 tab-separated fields")
        rows.append((fields[0], fields[1], fields[2]))
    return rows


def make_images(corpus_dir: Path, force: bool = False) -> int:
    """Write the images listed in ``corpus_dir/images.tsv``; return how many."""
    image_dir = corpus_dir / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    photos: dict[str, Image.Image] = {}
    written = 0
    for post_id, source, variant in read_table(corpus_dir / "images.tsv"):
        target = image_dir / f"{post_id}.jpg"
        if variant == "missing":
            if force and target.exists():  # left over from an earlier variant
                target.unlink()
            continue
        if target.exists() and not force:
            continue
        if source not in photos:
            photos[source] = load_photo(source)
        data = encode(photos[source], variant)
        if data is not None:
            target.write_bytes(data)
            written += 1
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus-dir",
        type=Path,
        default=DEFAULT_CORPUS_DIR,
        help="folder holding images.tsv (default: corpus/sample in the repository)",
    )
    parser.add_argument(
        "--force", action="store_true", help="rewrite images that already exist"
    )
    args = parser.parse_args(argv)
    written = make_images(args.corpus_dir, force=args.force)
    print(f"wrote {written} image(s) to {args.corpus_dir / 'images'}")


if __name__ == "__main__":
    main()
