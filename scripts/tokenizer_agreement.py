"""How often a tokenizer splits Twitter-2015's posts as its annotators did: spaCy's English default vs ours.

For each split, each post's tokens are joined by one space (the text an app would pass to `nlp(text)`) and
tokenized again; it prints the share of posts whose tokens match the corpus's exactly, and the share of
gold entities whose tokens do (on one-space text every entity starts and ends at a token boundary, so what
differs is how the entity itself is cut, e.g. `#Blackhawks` into `#` `Blackhawks`).

    python scripts/tokenizer_agreement.py --data-dir ../shared/data/twitter2015 [--show 20]
"""
import argparse
from collections import Counter
from pathlib import Path

from spacy.lang.en import English

from spacy_mner.corpus.twitter import read_twitter_posts
from spacy_mner.tags import bio_spans
from spacy_mner.tokenizer import social_tokenizer

ROOT = Path(__file__).resolve().parent.parent
SPLITS = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}


def agreement(tokenizer, posts) -> tuple:
    """(posts, posts with the same tokens, entities, entities with the same tokens, Counter of differences)."""
    same = ents = aligned = 0
    differences: Counter = Counter()
    for post in posts:
        text = " ".join(post.words)
        doc = tokenizer(text)
        tokens = [t.text for t in doc]
        if tokens == post.words:
            same += 1
        else:
            theirs, ours = set(post.words), set(tokens)
            differences.update(f"{w!r} -> {[t for t in tokens if t in w and t not in theirs] or '?'}"
                               for w in post.words if w not in ours)
        starts = [0]
        for word in post.words:
            starts.append(starts[-1] + len(word) + 1)
        for start, end, _ in bio_spans(post.tags):
            ents += 1
            span = doc.char_span(starts[start], starts[end] - 1)
            aligned += span is not None and [t.text for t in span] == post.words[start:end]
    return len(posts), same, ents, aligned, differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data/twitter2015"))
    parser.add_argument("--show", type=int, default=0, help="print the N most frequent differences of ours")
    args = parser.parse_args()
    nlp = English()
    tokenizers = {"spaCy English (default)": nlp.tokenizer, "spacy_mner.social_tokenizer.v1": social_tokenizer(nlp)}
    print("| split | tokenizer | posts | same tokens | gold entities | entities with the same tokens |")
    print("|---|---|---|---|---|---|")
    for split, name in SPLITS.items():
        posts = list(read_twitter_posts(args.data_dir / name))
        for label, tokenizer in tokenizers.items():
            n, same, ents, aligned, differences = agreement(tokenizer, posts)
            print(f"| {split} | {label} | {n} | {100 * same / n:.2f}% | {ents} | {100 * aligned / ents:.2f}% |")
        if args.show:
            for difference, count in differences.most_common(args.show):
                print(f"    {count:5d}  {difference}")


if __name__ == "__main__":
    main()
