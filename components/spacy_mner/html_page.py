"""A self-contained HTML page that shows tagged posts: text with entities, image, top image labels.

Looking at predictions next to the picture is the quickest way to see what the image adds (or breaks).
Each post is drawn by displaCy's entity renderer, beside a thumbnail of its image embedded as a data URI
(so the page is one file that can be mailed or archived) and the classifier's top labels. All text from
the posts (words, captions, labels, titles) is HTML-escaped. Each entity shows its confidence where the
pipeline gives one (`doc.spans[spans_key].attrs["scores"]`), and each label gets a colour derived from its
name, so any label set is drawn the same way on every page.
"""
import base64
import colorsys
import hashlib
import io
import warnings
from html import escape
from typing import Iterable, List, Optional, Sequence

from spacy import displacy
from spacy.tokens import Doc

from .image_labels.images import load_image
from .pipeline.confidence import DEFAULT_SPANS_KEY, entity_scores

THUMBNAIL_SIDE = 256

STYLE = f"""
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #222; }}
.post {{ display: flex; gap: 20px; padding: 16px 0; border-bottom: 1px solid #ddd; }}
.picture {{ flex: 0 0 {THUMBNAIL_SIDE}px; }}
.picture img {{ max-width: {THUMBNAIL_SIDE}px; max-height: {THUMBNAIL_SIDE}px; display: block; }}
.no-image {{ width: {THUMBNAIL_SIDE}px; height: 160px; background: #ccc; color: #555; display: flex;
  align-items: center; justify-content: center; font-size: 14px; }}
.body {{ flex: 1; min-width: 0; }}
.title {{ color: #777; font-size: 13px; }}
.note {{ font-size: 14px; color: #555; margin-top: 6px; }}
.labels {{ font-size: 14px; margin: 2px 0; padding-left: 24px; }}
.caption {{ color: #555; font-style: italic; font-size: 14px; }}
"""


def label_colour(label: str) -> str:
    """A light background colour (`#rrggbb`) for an entity label: the same for the same label, always."""
    hue = int.from_bytes(hashlib.sha1(label.encode("utf8")).digest()[:2], "big") / 65536
    red, green, blue = colorsys.hls_to_rgb(hue, 0.78, 0.85)
    return "#" + "".join(f"{round(c * 255):02x}" for c in (red, green, blue))


def render_html(docs: Iterable[Doc], image_labels_top: int = 5, *, titles: Optional[Sequence[str]] = None,
                heading: str = "spacy-mner predictions", spans_key: Optional[str] = DEFAULT_SPANS_KEY) -> str:
    """The HTML page (a string) showing `docs`.

    image_labels_top: how many of `doc._.image_labels` to list per post.
    titles: one line of text shown above each post (e.g. its id); none when not given.
    heading: the page's title.
    spans_key: where the entities' scores are (see `spacy_mner.pipeline.confidence`); None: show none.
    """
    posts = [_post(doc, image_labels_top, titles[i] if titles else None, spans_key) for i, doc in enumerate(docs)]
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{escape(heading)}</title>\n'
        f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>{escape(heading)}</h1>\n"
        f'<p class="title">{len(posts)} posts</p>\n' + "\n".join(posts) + "\n</body>\n</html>\n"
    )


def _post(doc: Doc, top: int, title: Optional[str], spans_key: Optional[str]) -> str:
    ents, colours = [], {}
    for ent, score in zip(doc.ents, entity_scores(doc, spans_key)):
        shown = ent.label_ if score is None else f"{ent.label_} {score:.2f}"
        ents.append({"start": ent.start_char, "end": ent.end_char, "label": shown})
        colours[shown] = label_colour(ent.label_)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*\[W006\]")  # a post without entities is fine here
        text = displacy.render({"text": doc.text, "ents": ents, "title": None}, style="ent", manual=True,
                               page=False, jupyter=False, options={"colors": colours})
    parts = [f'<div class="post">\n<div class="picture">{_picture(doc)}</div>\n<div class="body">']
    if title is not None:
        parts.append(f'<div class="title">{escape(title)}</div>')
    parts.append(text)
    if doc._.image_caption:
        parts.append(f'<div class="caption">caption: {escape(doc._.image_caption)}</div>')
    parts.append(_labels(doc._.image_labels, top))
    parts.append("</div>\n</div>")
    return "\n".join(parts)


def _picture(doc: Doc) -> str:
    """An <img> with the image's thumbnail as a JPEG data URI, or a grey box saying why there is none."""
    if doc._.image is None:
        return '<div class="no-image">no image</div>'
    image = load_image(doc._.image, f"image id {doc._.image_id}" if doc._.image_id else repr(doc.text[:40]))
    if image is None:  # load_image has warned why
        return '<div class="no-image">image cannot be read</div>'
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="the post\'s image" src="data:image/jpeg;base64,{data}">'


def _labels(labels: Optional[List], top: int) -> str:
    if labels is None:
        return '<div class="note">image labels: not computed</div>'
    if not labels:
        return '<div class="note">image labels: none</div>'
    items = "".join(f"<li>{escape(str(label))} <b>{prob:.2f}</b></li>" for label, prob in list(labels)[:top])
    return f'<div class="note">image labels:</div><ol class="labels">{items}</ol>'
