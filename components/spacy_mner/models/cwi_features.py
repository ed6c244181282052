"""CWI's input: docs -> the torch net's arrays (character ids, static vectors, image-word ids).

Everything here is numpy (or cupy) and runs outside torch, so a batch crosses into torch once.
"""
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.strings import hash_string
from spacy.tokens import Doc
from spacy.vectors import Vectors
from thinc.api import Model

from ..extensions import image_words
from .subword_vectors import SubwordVectors, subword_slices

OOV_ROWS = 20011  # fixed random vectors for words the table lacks, picked by hash
NO_IMAGE = 1  # reserved image-word id (0 pads)


@lru_cache(maxsize=200_000)
def char_ids(word: str, max_chars: int, n_chars: int) -> Tuple[int, ...]:
    """A word's first `max_chars` characters as ids in [1, n_chars), 0-padded; code points are hashed."""
    ids = [ord(c) % (n_chars - 1) + 1 for c in word[:max_chars]]
    return tuple(ids + [0] * (max_chars - len(ids)))


def word_char_ids(words: List[str], max_chars: int, n_chars: int) -> numpy.ndarray:
    rows = [char_ids(word, max_chars, n_chars) for word in words]
    return numpy.asarray(rows, dtype="int64").reshape(len(rows), max_chars)


@lru_cache(maxsize=4)
def oov_table(width: int, seed: int = 0) -> numpy.ndarray:
    """Vectors for unknown words, uniform in [-0.25, 0.25] as in the paper."""
    return numpy.random.default_rng(seed).uniform(-0.25, 0.25, (OOV_ROWS, width)).astype("float32")


@lru_cache(maxsize=200_000)
def vector_word(word: str) -> str:
    """The form a word's static vector is read by: lower-cased, and a hashtag or mention without its # or @
    (`#Blackhawks` reads the vector of `blackhawks`; the character CNN still sees the sign)."""
    word = word.lower()
    if len(word) > 1 and word[0] in "#@":
        word = word[1:]
    return word


@lru_cache(maxsize=200_000)
def vector_key(word: str) -> int:
    """The vectors-table key of a word (the hash of its `vector_word`)."""
    return hash_string(vector_word(word))


def word_vectors(words: List[str], vectors: Vectors, subwords: Sequence[Tuple[int, SubwordVectors]] = ()) -> numpy.ndarray:
    """The static vector of each word (see `vector_word`), or its fixed random vector when unknown; columns
    that come from wordpiece vectors (`subwords`: column offset, source) are filled from the word's
    wordpieces instead, so no word is unknown there."""
    keys = numpy.asarray([vector_key(word) for word in words], dtype="uint64")
    if vectors.shape[0] == 0:
        raise ValueError(
            "the pipeline has no word vectors: set [initialize.before_init] to spacy_mner.static_vectors.v1 "
            "or [initialize] vectors to a pipeline with vectors"
        )
    found = vectors.find(keys=keys)
    picked = vectors.data[found.clip(0, None)]  # on the table's device: only the batch's rows reach the host
    out = numpy.asarray(picked.get() if hasattr(picked, "get") else picked)
    rows = numpy.asarray(found.get() if hasattr(found, "get") else found)
    missing = numpy.flatnonzero(rows < 0)
    if len(missing):
        out[missing] = oov_table(vectors.shape[1])[keys[missing] % OOV_ROWS]
        if subwords:
            forms = [vector_word(words[i]) for i in missing]
            distinct = list(dict.fromkeys(forms))
            row_of = {form: j for j, form in enumerate(distinct)}
            pos = numpy.asarray([row_of[form] for form in forms], dtype="int64")
            for offset, source in subwords:
                out[missing, offset : offset + source.width] = source(distinct)[pos]
    return out


def doc_image_word_ids(
    docs: List[Doc], source: str, n_buckets: int, max_words: int, content_only: bool = False, hashed: bool = True
) -> Tuple[numpy.ndarray, numpy.ndarray, List[List[str]]]:
    """(ids, lengths, words): each doc's image words hashed into [2, n_buckets + 2) (left 0 unless `hashed`:
    their vectors are read instead), or one NO_IMAGE id; as many columns as the batch's longest list (the
    image LSTM reads forward, so padding after it is unread)."""
    per_doc = [image_words(doc, source, content_only)[:max_words] for doc in docs]
    ids = numpy.zeros((len(docs), max(map(len, per_doc), default=1) or 1), dtype="int64")
    lengths = numpy.ones(len(docs), dtype="int64")
    for i, words in enumerate(per_doc):
        if words:
            if hashed:
                ids[i, : len(words)] = [hash_string(w.lower()) % n_buckets + 2 for w in words]
            lengths[i] = len(words)
        else:
            ids[i, 0] = NO_IMAGE
    return ids, lengths, per_doc


def image_word_vectors(
    per_doc: List[List[str]], n_columns: int, vectors: Vectors, subwords: Sequence[Tuple[int, SubwordVectors]] = ()
) -> numpy.ndarray:
    """(docs, n_columns, vectors' width): the static vector of each doc's image words (read as `word_vectors`
    reads a token), zeros after a doc's last word."""
    out = numpy.zeros((len(per_doc), n_columns, vectors.shape[1]), dtype="float32")
    flat = [word for words in per_doc for word in words]
    if flat:
        row_of: Dict[str, int] = {}
        index = [row_of.setdefault(word, len(row_of)) for word in flat]  # each distinct word looked up once
        rows = word_vectors(list(row_of), vectors, subwords)
        docs = numpy.repeat(numpy.arange(len(per_doc)), [len(words) for words in per_doc])
        positions = numpy.concatenate([numpy.arange(len(words)) for words in per_doc])
        out[docs, positions] = rows[index]
    return out


def cwi_featurizer(
    vectors_width: int, max_chars: int, n_chars: int, image_source: str, image_buckets: int, max_image_words: int,
    content_image_words: bool = False, image_vectors: bool = False,
) -> Model:
    """List[Doc] -> the CWI net's inputs as arrays (docs without tokens are left out: they give no rows).

    With `image_vectors` the image words are given as their static vectors (the ids then only mark the
    posts without image words); otherwise the vectors' array is empty.

    In prediction the character CNN reads each distinct word of the batch once (`char_rows` maps tokens to
    those rows); in training every token is read (`char_rows` is empty), so targeted dropout draws per
    token as in the paper.
    """

    def forward(model: Model, docs: List[Doc], is_train: bool):
        docs = [doc for doc in docs if len(doc)]
        if not docs:
            return None, lambda d: []
        image_ids, image_lengths, per_doc = doc_image_word_ids(
            docs, image_source, image_buckets, max_image_words, content_image_words, hashed=not image_vectors
        )
        vectors, subwords = docs[0].vocab.vectors, subword_slices(docs[0].vocab)
        if image_vectors:
            image_vecs = image_word_vectors(per_doc, image_ids.shape[1], vectors, subwords)
        else:
            image_vecs = numpy.zeros((0,), dtype="float32")
        words = [token.text for doc in docs for token in doc]
        if is_train:
            distinct, char_rows = words, numpy.zeros(0, dtype="int64")
        else:
            row_of: Dict[str, int] = {}
            char_rows = numpy.asarray([row_of.setdefault(word, len(row_of)) for word in words], dtype="int64")
            distinct = list(row_of)
        inputs = (
            word_char_ids(distinct, max_chars, n_chars),
            char_rows,
            word_vectors(words, vectors, subwords),
            image_ids,
            image_lengths,
            image_vecs,
            [len(doc) for doc in docs],
        )
        return inputs, lambda d: []

    def init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
        """Check that the pipeline's word vectors are as wide as the model's word BiLSTM reads."""
        found = X[0].vocab.vectors.shape[1] if X else vectors_width
        if found != vectors_width:
            raise ValueError(
                f"the CWI model expects {vectors_width}-dimensional word vectors but the pipeline's are "
                f"{found}-dimensional: set the architecture's vectors_width to {found}"
            )

    return Model("cwi_features", forward, init=init)
