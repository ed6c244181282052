"""`load_image`: every input a post can bring gives an RGB image, or None with a warning naming the post."""
import io
import json
import struct
import subprocess
import sys
import warnings
import zlib

import numpy
import pytest
from PIL import Image
from skimage import data

from spacy_mner.image_labels.images import WORKING_SIDE, ImageWarning, load_image


def huge_jpeg(side: int) -> bytes:
    """A valid mid-grey baseline JPEG of side x side pixels, built without ever holding its pixels.

    PIL writes the headers of a tiny grey JPEG (standard Huffman tables); the size is patched and the scan
    replaced by `side**2 / 64` blocks that are each DC difference 0 ("00") then end-of-block ("1010"):
    4 blocks in 3 bytes.
    """
    tiny = io.BytesIO()
    Image.new("L", (8, 8), 128).save(tiny, "JPEG")
    jpeg = tiny.getvalue()
    sof, sos = jpeg.index(b"\xff\xc0"), jpeg.index(b"\xff\xda")
    sos_end = sos + 2 + struct.unpack(">H", jpeg[sos + 2:sos + 4])[0]
    blocks = (side // 8) ** 2
    assert side % 32 == 0
    header = jpeg[:sof + 5] + struct.pack(">HH", side, side) + jpeg[sof + 9:sos_end]
    return header + b"\x28\xa2\x8a" * (blocks // 4) + b"\xff\xd9"


def huge_png(side: int) -> bytes:
    """A valid black 1-bit PNG of side x side pixels, compressed row by row (a few KB of memory)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = bytes(1 + (side + 7) // 8)  # filter byte, then the row's bits
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def load_quietly(image, post="doc 0"):
    """load_image, failing the test on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_image(image, post)


def assert_unusable(image, reason: str, post: str = "image id 42"):
    """load_image gives None and one ImageWarning that names the post and says why."""
    with pytest.warns(ImageWarning) as record:
        assert load_image(image, post) is None
    assert len(record) == 1
    message = str(record[0].message)
    assert post in message and reason in message
    return message


@pytest.fixture(scope="module")
def cat_jpeg(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "chelsea.jpg"
    Image.fromarray(data.chelsea()).save(path, quality=90)
    return path


def test_no_image_is_none_without_warning():
    assert load_quietly(None) is None


@pytest.mark.parametrize("as_str", [False, True])
def test_path_gives_rgb_image(cat_jpeg, as_str):
    image = load_quietly(str(cat_jpeg) if as_str else cat_jpeg)
    assert image.mode == "RGB"
    assert image.size == (451, 300)
    assert numpy.abs(numpy.asarray(image, dtype=int) - data.chelsea()).mean() < 3  # JPEG loss only


def test_bytes_give_the_same_image_as_the_file(cat_jpeg):
    from_bytes = load_quietly(cat_jpeg.read_bytes())
    assert numpy.array_equal(numpy.asarray(from_bytes), numpy.asarray(load_quietly(cat_jpeg)))


def test_pil_image_is_converted_not_changed():
    original = Image.fromarray(data.camera())  # grayscale, mode L
    image = load_quietly(original)
    assert image.mode == "RGB" and original.mode == "L"
    assert image is not original and image.size == original.size


def test_large_pil_image_is_reduced_by_a_whole_factor():
    assert WORKING_SIDE == 512
    image = load_quietly(Image.new("RGB", (2049, 1539), (10, 200, 30)))  # shorter side: 3 * 512 + 3
    assert image.size == (683, 513)
    assert image.getpixel((5, 5)) == (10, 200, 30)


def test_missing_file(tmp_path):
    path = tmp_path / "gone.jpg"
    message = assert_unusable(path, "no such file")
    assert str(path) in message


def test_folder_is_not_an_image(tmp_path):
    assert_unusable(tmp_path, "not a file")


def test_corrupt_file(tmp_path):
    path = tmp_path / "html.jpg"
    path.write_text("<html>404 not found</html>")
    assert_unusable(path, "cannot identify image file", post="doc 3")


def test_corrupt_bytes_are_named_by_size():
    assert_unusable(b"not an image", "<12 bytes>")


def test_truncated_jpeg(tmp_path, cat_jpeg):
    path = tmp_path / "truncated.jpg"
    path.write_bytes(cat_jpeg.read_bytes()[:5000])
    assert_unusable(path, "truncated")


# Decodes one image in a fresh process and prints how far the decoding raised the process's peak memory:
# the test process's own peak is set by the tests before it, far above what one image adds.
PEAK_CHILD = """
import json, resource, sys, warnings
from spacy_mner.image_labels.images import load_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
with warnings.catch_warnings():
    warnings.simplefilter("error")  # no DecompressionBombWarning either
    image = load_image(sys.argv[1], "doc 0")
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"grown_mib": grown / 1024, "mode": image.mode, "size": image.size, "pixel": image.getpixel((0, 0))}))
"""


def decode_in_child(path) -> dict:
    done = subprocess.run([sys.executable, "-c", PEAK_CHILD, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_huge_jpeg_is_decoded_at_reduced_scale(tmp_path):
    path = tmp_path / "huge.jpg"
    path.write_bytes(huge_jpeg(12000))
    result = decode_in_child(path)
    assert result["mode"] == "RGB"
    assert WORKING_SIDE <= min(result["size"]) < 2 * WORKING_SIDE
    assert result["pixel"] == [128, 128, 128]
    assert result["grown_mib"] < 100  # decoding it fully would take 144 MiB (grey), 432 MiB as RGB


def test_huge_png_is_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(huge_png(12000))
    assert_unusable(path, "too large to decode: 12000x12000")


def test_decompression_bomb_is_a_warning(tmp_path):
    path = tmp_path / "bomb.jpg"
    path.write_bytes(huge_jpeg(20000))  # beyond twice PIL's limit: PIL refuses to open it
    assert_unusable(path, "DecompressionBombError")


@pytest.mark.parametrize(
    "mode, colour",
    [("L", 90), ("LA", (90, 255)), ("I;16", 90), ("CMYK", (0, 0, 0, 0)), ("RGBA", (200, 100, 50, 255))],
)
def test_colour_modes_become_rgb(tmp_path, mode, colour):
    path = tmp_path / ("image.jpg" if mode == "CMYK" else "image.png")
    Image.new(mode, (40, 30), colour).save(path)
    image = load_quietly(path)
    assert image.mode == "RGB" and image.size == (40, 30)
    expected = {"L": (90,) * 3, "LA": (90,) * 3, "I;16": (90,) * 3, "CMYK": (255,) * 3, "RGBA": (200, 100, 50)}
    assert numpy.abs(numpy.subtract(image.getpixel((20, 15)), expected[mode])).max() <= 2


def test_transparent_pixels_become_white(tmp_path):
    palette = Image.new("P", (20, 10), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0])
    palette.paste(0, (0, 0, 10, 10))  # left half: colour 0, which is transparent
    path = tmp_path / "palette.png"
    palette.save(path, transparency=0)
    image = load_quietly(path)
    assert image.getpixel((2, 5)) == (255, 255, 255)
    assert image.getpixel((15, 5)) == (255, 0, 0)


@pytest.mark.parametrize("format", ["PPM", "ICO", "EPS"])
def test_formats_outside_the_accepted_ones_are_not_opened(tmp_path, format):
    path = tmp_path / f"image.{format.lower()}"
    if format == "EPS":  # PIL writes EPS only with Ghostscript; the header is what its EPS decoder looks for
        path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n")
    else:
        Image.new("RGB", (16, 16), (255, 0, 0)).save(path, format)
    assert_unusable(path, "UnidentifiedImageError")
    assert Image.open(path).format == format  # PIL itself would have opened it


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (16, 16), colour) for colour in [(255, 0, 0), (0, 0, 255)]]
    path = tmp_path / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(path) as gif:
        assert gif.n_frames == 2
    assert load_quietly(path).getpixel((8, 8)) == (255, 0, 0)


def test_other_types_are_a_programming_error():
    with pytest.raises(TypeError, match="doc 1: an image must be a path, bytes or a PIL image, not int"):
        load_image(17, "doc 1")
