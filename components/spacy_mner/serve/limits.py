"""What one request may ask of the server: the `serve` options, checked once at start.

Kept free of the ASGI stack so that `python -m spacy_mner` (which reads these options for `serve`) works
without the `serve` extra; `admission.py` enforces the limits the ASGI stack lacks.
"""
from dataclasses import asdict, dataclass
from typing import Any, Dict


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server; every field is a `serve` option."""

    max_body_bytes: int = 16 * 1024 * 1024  # 413 above this
    max_text_chars: int = 10_000  # 422 for a longer text or caption (Python code points)
    max_batch_posts: int = 64  # 422 for a longer /v1/ner/batch list
    max_form_fields: int = 16  # 400 for a multipart form with more fields (the upload form has 3)
    max_in_flight: int = 64  # 503 + Retry-After while this many model requests are being handled
    request_timeout: float = 30.0  # 504 when a request's posts have not been tagged within this many seconds
    read_timeout: float = 10.0  # 408 when a request body has not fully arrived within this many seconds
    batch_size: int = 32  # the micro-batcher's most posts per nlp.pipe call
    max_wait: float = 0.002  # how long the micro-batcher waits for more posts after the first (seconds)
    max_image_pixels: int = 12_000_000  # 422 for an image with more pixels to decode (a JPEG: after draft)

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value <= 0 and name != "max_wait" or value < 0:
                raise ValueError(f"limit {name} must be positive, not {value}")

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)
