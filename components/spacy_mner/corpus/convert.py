"""Turn a Twitter-2015 file (plus optional image folder and captions), or a CoNLL-2003 file, into a DocBin."""
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from .conll import read_conll_posts
from .twitter import Post, post_to_doc, read_captions, read_posts

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp")
# corpus format -> reader of its posts
FORMATS: Dict[str, Callable[[Path], Iterator[Post]]] = {"twitter2015": read_posts, "conll2003": read_conll_posts}


@dataclass
class CorpusStats:
    """What a conversion read: printed by the CLI and checked by the tests."""

    posts: int = 0
    tokens: int = 0
    entities: Counter = field(default_factory=Counter)
    with_image: int = 0
    with_caption: int = 0

    def report(self) -> str:
        ents = ", ".join(f"{k} {v}" for k, v in sorted(self.entities.items()))
        share = lambda n: f"{n} ({100 * n / max(self.posts, 1):.1f}%)"  # noqa: E731
        return (
            f"posts {self.posts}, tokens {self.tokens}, entities {sum(self.entities.values())} ({ents}); "
            f"with image {share(self.with_image)}, with caption {share(self.with_caption)}"
        )


def find_image(images: Path, image_id: str) -> Optional[Path]:
    """The image file of a post in `images`: `<id>.jpg` as the corpus names it, or another suffix."""
    for suffix in IMAGE_SUFFIXES:
        candidate = images / f"{image_id}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def read_corpus(
    path: Path,
    vocab: Vocab,
    images: Optional[Path] = None,
    captions: Optional[Path] = None,
    format: str = "twitter2015",
) -> List[Doc]:
    """The posts of a corpus file (see FORMATS) as Docs with gold entities, image path and caption."""
    if format not in FORMATS:
        raise ValueError(f"unknown corpus format {format!r}; choose from {', '.join(FORMATS)}")
    caption_of: Dict[str, str] = read_captions(captions) if captions else {}
    docs = []
    for post in FORMATS[format](path):
        doc = post_to_doc(vocab, post)
        if post.image_id is not None:
            if images is not None:
                found = find_image(Path(images), post.image_id)
                doc._.image = str(found.resolve()) if found else None
            doc._.image_caption = caption_of.get(post.image_id)
        docs.append(doc)
    return docs


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
    format: str = "twitter2015",
) -> CorpusStats:
    """Write the corpus at `path` to the DocBin `output`, keeping the posts' image data."""
    docs = read_corpus(path, Vocab(), images=images, captions=captions, format=format)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=True).to_disk(output)
    return corpus_stats(docs)
