"""Running a pipeline over an app's posts so that every post ends tagged or with a reason, in input order.

`nlp.pipe` is fast but brittle for an app: one text over `nlp.max_length`, or one doc a component chokes
on, ends the whole stream with a traceback. Here docs are made one by one (a text that cannot become a
Doc gets an error), the components drop a batch that fails instead of raising, and every post of a dropped
batch is run again on its own, so that only the post at fault ends with an error (the component's reason).
Image problems do not stop a post: `image_labels` tags it without image labels and sets `doc._.image_error`,
which the caller reports; the component's own `ImageWarning` (which can only name a post by its place in a
batch) is silenced here.
"""
import warnings
from contextlib import contextmanager
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import ignore_error, raise_error

from ..image_labels.images import ImageWarning
from .jsonl import JsonlPost


def tag_posts(nlp: Language, posts: Iterable[JsonlPost], *, batch_size: int, n_process: int
              ) -> Iterator[Tuple[JsonlPost, Optional[Doc]]]:
    """`(post, doc)` for every post, in input order; `doc` is None for a post with an `error` (set here
    when the pipeline cannot tag it)."""
    pending: List[Tuple[int, JsonlPost, Doc]] = []  # sent to nlp.pipe, not yet back, numbered in order

    def docs() -> Iterator[Tuple[Doc, int]]:
        for number, post in enumerate(posts):
            doc = _make_doc(nlp, post)
            pending.append((number, post, doc))
            yield doc, number

    with warnings.catch_warnings(), _error_handlers(nlp, ignore_error):
        warnings.simplefilter("ignore", ImageWarning)  # set before nlp.pipe forks its workers
        for doc, number in nlp.pipe(docs(), as_tuples=True, batch_size=batch_size, n_process=n_process):
            while pending[0][0] != number:  # dropped with a batch that failed
                yield _alone(nlp, *pending.pop(0)[1:])
            _, post, _ = pending.pop(0)
            yield post, (None if post.error else doc)
        while pending:
            yield _alone(nlp, *pending.pop(0)[1:])


def _make_doc(nlp: Language, post: JsonlPost) -> Doc:
    """The post's Doc with its image data; an empty Doc (and `post.error`) where its text cannot be one."""
    if post.error is None and len(post.text) > nlp.max_length:
        post.error = f'"text" has {len(post.text)} characters, more than the pipeline\'s max_length {nlp.max_length}'
    if post.error is None:
        try:
            doc = nlp.make_doc(post.text)
        except Exception as error:  # a tokenizer's own limits
            post.error = f"cannot tokenize the text ({_first_line(error)})"
    if post.error is not None:
        return nlp.make_doc("")
    doc._.image, doc._.image_caption = post.image, post.caption
    return doc


def _alone(nlp: Language, post: JsonlPost, doc: Doc) -> Tuple[JsonlPost, Optional[Doc]]:
    """Run the pipeline on one post whose batch failed: its doc, or None and the component's error."""
    if post.error is not None:
        return post, None
    with _error_handlers(nlp, raise_error):
        try:
            return post, nlp(doc)
        except Exception as error:  # whatever a component raises, it ends this post only
            post.error = f"the pipeline failed on this post ({type(error).__name__}: {_first_line(error)})"
            return post, None


@contextmanager
def _error_handlers(nlp: Language, handler: Callable) -> Iterator[None]:
    """Every component of `nlp` calls `handler` for a batch it fails on, within the block (function
    components, which have no handler of their own, use the pipeline's default one)."""
    before: Dict[str, Callable] = {}
    default = nlp.default_error_handler
    nlp.default_error_handler = handler
    for name, proc in nlp.pipeline:
        if hasattr(proc, "set_error_handler"):
            before[name] = proc.get_error_handler()
            proc.set_error_handler(handler)
    try:
        yield
    finally:
        nlp.default_error_handler = default
        for name, proc in nlp.pipeline:
            if name in before:
                proc.set_error_handler(before[name])


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
