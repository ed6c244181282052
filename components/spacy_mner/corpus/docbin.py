"""Turn a corpus file of any accepted format (plus optional images and captions) into a DocBin.

Formats (`FORMATS`; `detect_format` tells them from the file): `twitter` (`IMGID:` blocks), `conll`
(token ... tag columns), `jsonl` (character offsets: Prodigy, doccano, Label Studio; `.json` lists too) and
`spacy` (a DocBin, e.g. `spacy convert` output, passed through). `twitter2015` names `twitter`, and
`conll2003` names `conll` with CoNLL-2003's MISC renamed to Twitter-2015's OTHER (MSB's first stage).

Tag formats may use any entity types, in IOB1, IOB2 or BIOES/BILOU (detected over the whole file, or
forced). A rename map renames or merges types. Every post becomes a Doc the same way (`post_to_doc`), so
the same posts in different formats give identical DocBins.
"""
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab

from ..tags import TagError, detect_scheme, spans_of
from .conll import read_conll_posts
from .offsets import read_offset_posts
from .posts import CorpusFormatError, Post, read_captions
from .twitter import read_twitter_posts

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp")
FORMATS = ("twitter", "conll", "jsonl", "spacy")
# alias -> (format, renames it implies)
ALIASES: Dict[str, tuple] = {"twitter2015": ("twitter", {}), "conll2003": ("conll", {"MISC": "OTHER"})}
SOCIAL_TOKENIZER = "spacy_mner.social_tokenizer.v1"
# a type with fewer entities than this and under this share of all is reported as a likely typo (B-PRE)
FEW_ENTITIES, FEW_SHARE = 3, 0.01


@dataclass
class CorpusStats:
    """What a conversion read: printed by the CLI and checked by the tests."""

    posts: int = 0
    tokens: int = 0
    entities: Counter = field(default_factory=Counter)
    with_image: int = 0
    with_caption: int = 0
    format: str = ""
    scheme: Optional[str] = None
    unused_renames: List[str] = field(default_factory=list)
    rejected: int = 0  # records an annotation tool marks rejected or ignored, left out
    images_folder: Optional[str] = None
    missing_images: List[str] = field(default_factory=list)  # ids of posts whose image the folder lacks

    def report(self) -> str:
        ents = ", ".join(f"{k} {v}" for k, v in sorted(self.entities.items()))
        share = lambda n: f"{n} ({100 * n / max(self.posts, 1):.1f}%)"  # noqa: E731
        how = f"{self.format}, {self.scheme.upper()}" if self.scheme else self.format
        return (
            f"[{how}] posts {self.posts}, tokens {self.tokens}, entities {sum(self.entities.values())} ({ents}); "
            f"with image {share(self.with_image)}, with caption {share(self.with_caption)}"
            + (f"; {self.rejected} rejected or ignored records left out" if self.rejected else "")
        )

    def warnings(self) -> List[str]:
        """One line per entity type so rare that it is likely a typo (`B-PRE` for `B-PER`)."""
        total = sum(self.entities.values())
        return [
            f"entity type {label!r} has only {n} entit{'y' if n == 1 else 'ies'} ({100 * n / total:.1f}% of {total}): "
            f"a typo? (--rename {label}=OTHER_NAME merges it into another type)"
            for label, n in sorted(self.entities.items())
            if n < FEW_ENTITIES and n / total < FEW_SHARE
        ] + [f"--rename {old}=...: the corpus has no entity of type {old!r}" for old in self.unused_renames] + (
            [f"{len(self.missing_images)} of {self.posts} posts have no image in {self.images_folder} (ids "
             f"{', '.join(self.missing_images[:5])}{', ...' if len(self.missing_images) > 5 else ''}): "
             "they get no image labels"] if self.missing_images else []
        )


def parse_renames(items: List[str]) -> Dict[str, str]:
    """`OLD=NEW` strings as a map; several OLDs may share a NEW (merging types)."""
    renames: Dict[str, str] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ValueError(f"--rename {item!r}: expected OLD=NEW with two type names (e.g. MISC=OTHER)")
        renames[old.strip()] = new.strip()
    return renames


def resolve_format(format: Optional[str], path: Path, renames: Optional[Dict[str, str]] = None):
    """(format, renames): an alias resolved, or the format told from the file where `format` is None."""
    renames = dict(renames or {})
    if format in ALIASES:
        format, implied = ALIASES[format]
        renames = {**implied, **renames}
    elif format is None:
        format = detect_format(path)
    elif format not in FORMATS:
        raise ValueError(f"unknown corpus format {format!r}; choose from {', '.join(FORMATS + tuple(ALIASES))}")
    return format, renames


def detect_format(path: Path) -> str:
    """The format of a corpus file, from its suffix (.spacy, .jsonl, .json) or its first line."""
    path = Path(path)
    if path.suffix == ".spacy" or path.is_dir():
        return "spacy"
    if path.suffix in (".jsonl", ".json"):
        return "jsonl"
    if not path.is_file():
        raise CorpusFormatError(path, None, "no such file")
    with path.open("rb") as handle:
        for raw in handle:
            first = raw.decode("utf-8-sig", errors="replace").strip()
            if first:
                break
        else:
            raise CorpusFormatError(path, None, "the file is empty")
    if first.startswith(("{", "[")):
        return "jsonl"
    return "twitter" if first.startswith("IMGID:") else "conll"


def find_image(images: Path, image_id: str) -> Optional[Path]:
    """The image file of a post in `images`: `<id>.jpg` as the corpus names it, or another suffix."""
    for suffix in IMAGE_SUFFIXES:
        candidate = images / f"{image_id}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def tagged_spans(path: Path, posts: List[Post], scheme: Optional[str]) -> str:
    """Give each tag-format post its entity spans under `scheme` (detected where None); returns the scheme."""
    scheme = scheme or detect_scheme(post.tags for post in posts)
    for post in posts:
        try:
            post.spans = spans_of(post.tags, scheme)
        except TagError as err:
            raise CorpusFormatError(path, post.tag_lines[err.index], f"{err} ({scheme.upper()})") from None
    return scheme


def post_to_doc(vocab: Vocab, post: Post, renames: Dict[str, str]) -> Doc:
    """A Doc with the post's own tokens, its gold entities (types renamed) and its image id."""
    doc = Doc(vocab, words=post.words, spaces=post.spaces)
    doc.ents = [Span(doc, s, e, label=renames.get(label, label)) for s, e, label in post.spans or []]
    doc._.image_id = post.image_id
    return doc


def _image_path(path: Path, post: Post, images: Optional[Path]) -> str:
    """The post's own image path, resolved against the images folder, then the corpus file's folder."""
    candidate = Path(post.image)
    for base in ([] if candidate.is_absolute() else [b for b in (images, path.parent) if b is not None]) or [Path()]:
        if (base / candidate).is_file():
            return str((base / candidate).resolve())
    raise CorpusFormatError(path, post.line, f"image {post.image!r}: no such file (looked beside the corpus file"
                            f"{' and in ' + str(images) if images else ''})")


def read_corpus(
    path: Path,
    vocab: Vocab,
    images: Optional[Path] = None,
    captions: Optional[Path] = None,
    format: Optional[str] = None,
    scheme: Optional[str] = None,
    renames: Optional[Dict[str, str]] = None,
    lang: str = "en",
) -> List[Doc]:
    """The posts of a corpus file as Docs with gold entities, image path and caption (see the module docstring)."""
    return _read(Path(path), vocab, images, captions, format, scheme, renames, lang)[0]


def _read(
    path: Path, vocab: Vocab, images: Optional[Path], captions: Optional[Path], format: Optional[str],
    scheme: Optional[str], renames: Optional[Dict[str, str]], lang: str,
) -> Tuple[List[Doc], str, Optional[str], List[str], int]:
    """(docs, format, scheme, renames the corpus had no use for, rejected records left out)."""
    format, renames = resolve_format(format, path, renames)
    caption_of: Dict[str, str] = read_captions(captions) if captions else {}
    rejected = 0
    if format == "spacy":
        docs, labels = _pass_through(path, vocab, images, caption_of, renames)
        return docs, format, None, sorted(set(renames) - labels), rejected
    if format == "jsonl":
        import spacy

        try:
            # the configs' tokenizer, so that the reference tokens are the ones the pipeline will see
            tokenizer = spacy.blank(lang, config={"nlp": {"tokenizer": {"@tokenizers": SOCIAL_TOKENIZER}}}).make_doc
        except ImportError:
            raise CorpusFormatError(path, None, f"--lang {lang!r}: spaCy has no such language") from None
        read = list(read_offset_posts(path, tokenizer))
        posts = [post for post in read if not post.rejected]
        rejected = len(read) - len(posts)
    else:
        posts = list(read_twitter_posts(path) if format == "twitter" else read_conll_posts(path))
        scheme = tagged_spans(path, posts, scheme)
    docs = []
    for post in posts:
        doc = post_to_doc(vocab, post, renames)
        if post.image is not None:
            doc._.image = _image_path(path, post, images)
        elif post.image_id is not None and images is not None:
            found = find_image(Path(images), post.image_id)
            doc._.image = str(found.resolve()) if found else None
        if post.caption is not None or post.image_id is not None:
            doc._.image_caption = post.caption if post.caption is not None else caption_of.get(post.image_id)
        docs.append(doc)
    labels = {label for post in posts for _, _, label in post.spans or []}
    return docs, format, scheme, sorted(set(renames) - labels), rejected


def _pass_through(path: Path, vocab: Vocab, images: Optional[Path], caption_of: Dict[str, str], renames: Dict[str, str]):
    """The Docs of a DocBin, types renamed, and the types they had; images and captions added by image id
    where the Docs have none."""
    try:
        docs = list(DocBin().from_disk(path).get_docs(vocab))
    except Exception as err:  # a truncated or foreign file: msgpack/zlib errors of many kinds
        raise CorpusFormatError(path, None, f"not a spaCy DocBin ({type(err).__name__}: {err})") from None
    labels = {ent.label_ for doc in docs for ent in doc.ents}
    for doc in docs:
        if renames:
            doc.ents = [Span(doc, e.start, e.end, label=renames.get(e.label_, e.label_)) for e in doc.ents]
        if doc._.image_id is not None:
            if images is not None and doc._.image is None:
                found = find_image(Path(images), doc._.image_id)
                doc._.image = str(found.resolve()) if found else None
            if caption_of and doc._.image_caption is None:
                doc._.image_caption = caption_of.get(doc._.image_id)
    return docs, labels


def corpus_stats(docs: List[Doc]) -> CorpusStats:
    stats = CorpusStats()
    for doc in docs:
        stats.posts += 1
        stats.tokens += len(doc)
        stats.entities.update(ent.label_ for ent in doc.ents)
        stats.with_image += doc._.image is not None
        stats.with_caption += doc._.image_caption is not None
    return stats


def convert(
    path: Path,
    output: Path,
    images: Optional[Path] = None,
    captions: Optional[Path] = None,
    format: Optional[str] = None,
    scheme: Optional[str] = None,
    renames: Optional[Dict[str, str]] = None,
    lang: str = "en",
) -> CorpusStats:
    """Write the corpus at `path` to the DocBin `output`, keeping the posts' image data."""
    docs, format, scheme, unused, rejected = _read(Path(path), Vocab(), images, captions, format, scheme, renames, lang)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=True).to_disk(output)
    stats = corpus_stats(docs)
    stats.format, stats.scheme, stats.unused_renames, stats.rejected = format, scheme, unused, rejected
    if images is not None:
        stats.images_folder = str(images)
        stats.missing_images = [str(doc._.image_id) for doc in docs if doc._.image is None and doc._.image_id is not None]
    return stats
