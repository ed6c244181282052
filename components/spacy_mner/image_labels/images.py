"""Load a post's image for a classifier, robustly.

Posts link to whatever the web served: missing files, truncated downloads, huge photos, grayscale, CMYK,
palette or animated images. A classifier needs one small RGB picture, and one bad image must not stop a
corpus run, so `load_image` turns every such case into either an RGB image or `None` plus an
`ImageWarning` that names the post, the file and the reason. It never decodes more pixels than needed:
JPEGs are decoded at 1/2, 1/4 or 1/8 scale (`Image.draft`), other formats are refused above
`MAX_PIXELS`, and what is decoded is shrunk by whole factors (`Image.reduce`) to about `WORKING_SIDE`.
"""
import io
import os
import re
import warnings
from pathlib import Path
from typing import Optional, Tuple, Union

from PIL import Image

ImageInput = Union[str, os.PathLike, bytes, Image.Image, None]

# Images are shrunk until their shorter side is below 2 * WORKING_SIDE, never below WORKING_SIDE: larger
# than the biggest resize a classifier does (342 px for InceptionV3), small enough for a batch in memory.
WORKING_SIDE = 512
# An image that would still have more pixels than this when decoded is refused (about 150 MB as RGB).
MAX_PIXELS = 50_000_000


class ImageWarning(UserWarning):
    """A post's image cannot be used; the post goes on without image labels."""


class _Unusable(Exception):
    """Internal: the reason an image cannot be used."""


def load_image(image: ImageInput, post: str) -> Optional[Image.Image]:
    """The post's image as an RGB `PIL.Image.Image`, or None.

    image: a file path, the file's bytes, a PIL image (left unchanged), or None (no image: None, silently).
    post: how warnings name the post, e.g. "image id 1234" or "doc 7".
    An image that cannot be used gives None and an `ImageWarning`; a value of another type is a
    programming error and raises TypeError.
    """
    picture, problem = read_image(image, post)
    if problem is not None:
        warnings.warn(f"post {post}: {problem}; it gets no image labels", ImageWarning)
    return picture


# the formats posts' images come in; PIL's other decoders (EPS runs Ghostscript; FITS, PSD, SGI...) are rarely
# needed and are where its security fixes have been, so bytes in those formats are not an image to us
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")  # JPEG covers multi-picture (MPO) files
_IN_MEMORY_FILE = re.compile(r" ?<_io\.BytesIO object at 0x[0-9a-f]+>")


def read_image(image: ImageInput, post: str = "?", max_pixels: int = MAX_PIXELS) -> Tuple[Optional[Image.Image], Optional[str]]:
    """`(RGB image, None)`, `(None, why the image cannot be used)`, or `(None, None)` for no image.

    The same as `load_image` without the warning, for callers that report the reason themselves (the
    `image_labels` component stores it in `doc._.image_error`). `post` names the post in a TypeError;
    `max_pixels` bounds what is decoded (a server lowers it: decoding is the costly part of a request).
    """
    if image is None:
        return None, None
    if isinstance(image, (str, os.PathLike)):
        source = str(image)
    elif isinstance(image, (bytes, bytearray)):
        source = f"<{len(image)} bytes>"
    elif isinstance(image, Image.Image):
        source = "<PIL image>"
    else:
        raise TypeError(f"post {post}: an image must be a path, bytes or a PIL image, not {type(image).__name__}")
    try:
        return _load(image, max_pixels), None
    except _Unusable as reason:
        message = str(reason)
    # PIL's decoders raise many types (OSError, SyntaxError, ValueError, EOFError, struct.error...) for
    # broken files; each of them means "this image is unusable", never "stop the run".
    except Exception as error:  # noqa: BLE001
        message = f"{type(error).__name__}: {error}"
    message = _IN_MEMORY_FILE.sub("", message)  # PIL names an in-memory file by its address: noise to a user
    return None, f"image {source} cannot be used ({message})"


def _load(image: Union[str, os.PathLike, bytes, Image.Image], max_pixels: int) -> Image.Image:
    """The decoded, shrunk RGB image; raises on any problem."""
    if isinstance(image, Image.Image):
        return _shrink(_to_rgb(_checked(image, max_pixels)))
    if isinstance(image, (bytes, bytearray)):
        file = io.BytesIO(image)
    else:
        path = Path(image)
        if not path.exists():
            raise _Unusable("no such file")
        if not path.is_file():
            raise _Unusable("not a file")
        file = path
    # PIL warns above Image.MAX_IMAGE_PIXELS before anything is decoded; MAX_PIXELS is checked below,
    # after `draft` has chosen how many pixels a JPEG really needs. (PIL still refuses twice its limit.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(file, formats=FORMATS) as opened:
            opened.draft(None, (WORKING_SIDE, WORKING_SIDE))
            return _shrink(_to_rgb(_checked(opened, max_pixels)))


def _checked(image: Image.Image, max_pixels: int) -> Image.Image:
    """`image`, if decoding it stays within `max_pixels`."""
    width, height = image.size
    if width * height > max_pixels:
        raise _Unusable(f"too large to decode: {width}x{height} pixels, the limit is {max_pixels}")
    return image


def _shrink(image: Image.Image) -> Image.Image:
    """`image` reduced by a whole factor (box filter) while its shorter side stays >= WORKING_SIDE."""
    factor = min(image.size) // WORKING_SIDE
    return image.reduce(factor) if factor > 1 else image


def _to_rgb(image: Image.Image) -> Image.Image:
    """A decoded RGB copy (of the first frame of an animation); transparent pixels become white."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")
