"""What the server's model worker does with a group of posts: decode their images, run `nlp.pipe`, and turn
each doc into a plain result (entities with character offsets, image labels, confidences).

Everything here runs in the batcher's single worker thread, so torch never runs concurrently and the event
loop only moves bytes. A post whose image cannot be used gets a `PostError` (415: not an image; 422: corrupt
or too many pixels; 500: a component failed on it) instead of a result, without stopping the other posts
of its group.
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

from PIL import Image
from spacy.language import Language
from spacy.tokens import Doc

from ..cli.jsonl import JsonlPost
from ..cli.tagging import tag_posts
from ..image_labels.images import read_image
from ..pipeline.confidence import entity_scores, pipeline_spans_key
from .limits import Limits

Result = Dict[str, Any]


@dataclass
class Post:
    """One post of a request: `image` is the file's bytes (never a path or URL: the server reads no files)."""

    text: str
    image: Optional[bytes] = None
    caption: Optional[str] = None


@dataclass
class PostError:
    """Why a post got no result, and the HTTP status that says so."""

    status: int
    detail: str


def tag(nlp: Language, posts: List[Post], max_image_pixels: int = Limits.max_image_pixels) -> List[Union[Result, PostError]]:
    """A result or an error for every post, in order; the usable posts go through one `nlp.pipe` call."""
    outcomes: List[Union[Result, PostError, None]] = [None] * len(posts)
    usable: List[JsonlPost] = []  # numbered by their place in `posts`
    for i, post in enumerate(posts):
        image, problem = decode_image(post.image, max_image_pixels) if post.image is not None else (None, None)
        if problem is not None:
            outcomes[i] = problem
        else:  # the decoded image goes in as it is (the image_labels component takes PIL images too)
            usable.append(JsonlPost(i, post.text, image=image, caption=post.caption))  # type: ignore[arg-type]
    spans_key = pipeline_spans_key(nlp)
    # the apps' runner: a post a component fails on gets its own error, the others of its group are tagged
    for item, doc in tag_posts(nlp, usable, batch_size=max(1, len(usable)), n_process=1):
        if doc is not None:
            outcomes[item.line] = doc_result(doc, spans_key)
        else:
            failed = item.error.startswith("the pipeline failed")
            outcomes[item.line] = PostError(500 if failed else 422, item.error)
    return outcomes  # type: ignore[return-value]


def decode_image(data: bytes, max_pixels: int) -> Tuple[Optional[Image.Image], Optional[PostError]]:
    """The decoded image, or the error that says why it cannot be used (the loader's own reason)."""
    image, reason = read_image(data, "in the request", max_pixels)
    if image is not None:
        return image, None
    # PIL names bytes in no image format it knows UnidentifiedImageError; anything else is a broken image
    status = 415 if "UnidentifiedImageError" in (reason or "") else 422
    return None, PostError(status, reason or "the image cannot be used")


def doc_result(doc: Doc, spans_key: Optional[str]) -> Result:
    """The JSON-ready result of one tagged doc. Offsets count Python code points (str indices); `score` is
    the entity's confidence where the pipeline stores one under `spans_key` (see `pipeline.confidence`)."""
    return {
        "text": doc.text,
        "entities": [
            {"start": ent.start_char, "end": ent.end_char, "label": ent.label_, "text": ent.text, "score": score}
            for ent, score in zip(doc.ents, entity_scores(doc, spans_key))
        ],
        "image_labels": [{"label": label, "score": float(prob)} for label, prob in doc._.image_labels or []],
    }
