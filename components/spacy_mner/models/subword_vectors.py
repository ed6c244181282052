"""Word vectors built from wordpiece vectors, so that every word has one: a hashtag, a misspelling or a new
name is cut into wordpieces by the transformer's tokenizer and reads the mean of their vectors.

The wordpiece vectors are distilled from a transformer (Model2Vec, see `training_hooks/distill.py`); this
module only reads them (the Rust tokenizer, numpy and one torch call). A word's vector is, as Model2Vec's
`StaticModel.encode` gives it, the mean of its pieces' SIF-weighted rows, L2-normalised, here scaled by
sqrt(width) so each dimension has unit mean square (GloVe's are of that order); unknown pieces ([UNK]) are
left out, so a word the tokenizer cannot cut at all reads zeros rather than the [UNK] row.

Slices of `nlp.vocab.vectors` that came from such a source are recorded in the vocab's lookups (table
`LOOKUPS_TABLE`: each slice's column offset, tokenizer and piece vectors), so they are saved and loaded with
the pipeline; the CWI featurizer fills those columns of words outside the table's rows from here.
"""
import itertools
import warnings
import weakref
from typing import Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.lookups import Table
from spacy.vocab import Vocab

LOOKUPS_TABLE = "spacy_mner_subword_vectors"
CACHE_WORDS = 20_000  # at 256 columns, about 20 MB
_SLICES_KEY = "slices"


class SubwordVectors:
    """A word's vector from its wordpieces' vectors (weights folded into `pieces`, one row per piece id)."""

    def __init__(self, tokenizer_json: str, pieces: numpy.ndarray, unk_id: Optional[int]):
        from tokenizers import Tokenizer

        self.tokenizer_json = tokenizer_json
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.pieces = numpy.ascontiguousarray(pieces, dtype="float32")  # a loaded pipeline's: a view of its bytes
        self.unk_id = unk_id
        self.width = self.pieces.shape[1]
        self._cache: Dict[str, numpy.ndarray] = {}  # word -> its row (see __call__)

    def __call__(self, words: Sequence[str]) -> numpy.ndarray:
        """(len(words), width) vectors; a word with no known piece (all [UNK], or empty) reads zeros.

        Up to `CACHE_WORDS` words' vectors are kept, emptied when full (the rows never change), so a
        stream of posts cuts a frequent hashtag or name into pieces about once."""
        if not words:
            return numpy.zeros((0, self.width), dtype="float32")
        distinct = list(dict.fromkeys(words))
        if len(distinct) > CACHE_WORDS:
            return self._vectors(words)
        new = [word for word in distinct if word not in self._cache]
        if len(self._cache) + len(new) > CACHE_WORDS:
            self._cache.clear()
            new = distinct
        if new:
            self._cache.update(zip(new, self._vectors(new)))
        return numpy.stack([self._cache[word] for word in words])

    def _vectors(self, words: Sequence[str]) -> numpy.ndarray:
        import torch

        ids = [[i for i in enc.ids if i != self.unk_id] for enc in self._encode(words)]
        lengths = numpy.fromiter(map(len, ids), dtype="int64", count=len(ids))
        flat = numpy.fromiter(itertools.chain.from_iterable(ids), dtype="int64", count=int(lengths.sum()))
        with warnings.catch_warnings():  # the rows may be read-only (see __init__); they are only read here
            warnings.simplefilter("ignore", UserWarning)
            rows = torch.from_numpy(self.pieces)
        # each word's sum of piece rows without gathering them (URLs have many pieces); no pieces: zeros
        sums = torch.nn.functional.embedding_bag(
            torch.from_numpy(flat), rows, torch.from_numpy(numpy.cumsum(lengths) - lengths), mode="sum"
        ).numpy()
        norms = numpy.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / numpy.maximum(norms, 1e-12) * numpy.sqrt(self.width)).astype("float32", copy=False)

    def covers(self, words: Sequence[str]) -> numpy.ndarray:
        """Whether each word has at least one known wordpiece (its vector is not all zeros)."""
        return numpy.asarray([any(i != self.unk_id for i in enc.ids) for enc in self._encode(words)], dtype=bool)

    def _encode(self, words: Sequence[str]) -> list:
        """The words' encodings without special tokens; without offsets where the tokenizers library can
        (`encode_batch_fast`, tokenizers >= 0.20), which makes the call about a third faster."""
        encode = getattr(self.tokenizer, "encode_batch_fast", self.tokenizer.encode_batch)
        return encode(list(words), add_special_tokens=False)

    def whole_words(self) -> List[str]:
        """The tokenizer's vocabulary entries that are whole words, by id: those with the word-start mark
        "\u2581" (mark removed; Model2Vec's tokenizers have it), else those that are not "##" continuations."""
        special = {t.content for t in self.tokenizer.get_added_tokens_decoder().values()}
        vocab = [t for t, _ in sorted(self.tokenizer.get_vocab().items(), key=lambda item: item[1]) if t not in special]
        marked = [t[1:] for t in vocab if t.startswith("\u2581") and t[1:].strip()]
        return marked or [t for t in vocab if not t.startswith("##") and t.strip()]

    def to_msg(self) -> dict:
        return {
            "tokenizer": self.tokenizer_json,
            "pieces": self.pieces.tobytes(),
            "shape": list(self.pieces.shape),
            "unk_id": self.unk_id,
        }

    @classmethod
    def from_msg(cls, msg: dict) -> "SubwordVectors":
        pieces = numpy.frombuffer(msg["pieces"], dtype="float32").reshape(msg["shape"])
        return cls(msg["tokenizer"], pieces, msg["unk_id"])


def set_subword_slices(vocab: Vocab, slices: Sequence[Tuple[int, SubwordVectors]]) -> None:
    """Record which columns of `vocab.vectors` come from which wordpiece source (none: remove the record)."""
    if vocab.lookups.has_table(LOOKUPS_TABLE):
        vocab.lookups.remove_table(LOOKUPS_TABLE)
    if slices:
        table = vocab.lookups.add_table(LOOKUPS_TABLE)
        table[_SLICES_KEY] = [dict(offset=offset, **source.to_msg()) for offset, source in slices]


_decoded: Dict[int, Tuple["weakref.ref[Table]", List[Tuple[int, SubwordVectors]]]] = {}  # by id(table)


def subword_slices(vocab: Vocab) -> List[Tuple[int, SubwordVectors]]:
    """(column offset, source) of each wordpiece slice of `vocab.vectors`; decoded once per loaded table."""
    if not vocab.lookups.has_table(LOOKUPS_TABLE):
        return []
    table = vocab.lookups.get_table(LOOKUPS_TABLE)
    key = id(table)
    hit = _decoded.get(key)
    if hit is None or hit[0]() is not table:
        slices = [(int(m["offset"]), SubwordVectors.from_msg(m)) for m in table[_SLICES_KEY]]
        hit = _decoded[key] = (weakref.ref(table, lambda _, key=key: _decoded.pop(key, None)), slices)
    return hit[1]
