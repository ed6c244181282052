"""Out-of-vocabulary rate of each word-vector source on the entity tokens of a converted corpus.

A token is looked up as CWI reads it (`vector_word`: lower-cased, without a leading # or @). For a table
source (GloVe, en_core_web_md, a text file) it is out of vocabulary when the source has no row for it (GloVe
cut to --max-rows, as the config's max_rows cuts the table); for a distilled source ("m2v-...") when none of
its wordpieces is known (all [UNK]); "table rows" is the rate outside the first source's rows, i.e. the
tokens whose vector CWI draws at random (or, with distilled sources and subword_fallback, builds from
wordpieces).

    python scripts/vector_oov.py corpus/twitter2015 --sources glove-6b-50d,en_core_web_md,m2v-minilm,m2v-mpnet
"""
import argparse
from pathlib import Path
from typing import Dict, List

import spacy
from spacy.tokens import DocBin

from spacy_mner.models.cwi_features import vector_word
from spacy_mner.training_hooks.vectors import source_covers, vector_source


def entity_tokens(path: Path) -> List[str]:
    """The `vector_word` form of every token inside an entity of a .spacy file."""
    nlp = spacy.blank("en")
    try:
        docs = list(DocBin().from_disk(path).get_docs(nlp.vocab))
    except Exception as err:  # a corrupt or foreign file: say which
        raise SystemExit(f"{path}: not a readable .spacy file ({err})")
    return [vector_word(token.text) for doc in docs for ent in doc.ents for token in ent]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="folder with train/dev/test .spacy files")
    parser.add_argument("--sources", default="glove-6b-50d,en_core_web_md,m2v-minilm,m2v-mpnet")
    parser.add_argument("--max-rows", type=int, default=200000, help="rows of a table source (as the config's max_rows)")
    parser.add_argument("--splits", default="train,dev,test")
    parser.add_argument("--distill-dims", type=int, default=256)
    args = parser.parse_args()
    splits: Dict[str, List[str]] = {}
    for split in args.splits.split(","):
        path = next((p for p in (args.corpus / f"{split}.labelled.spacy", args.corpus / f"{split}.spacy") if p.exists()), None)
        if path is None:
            raise SystemExit(f"{args.corpus}: no {split}.spacy or {split}.labelled.spacy")
        splits[split] = entity_tokens(path)
    names = [n.strip() for n in args.sources.split(",") if n.strip()]
    sources = {name: vector_source(name, args.max_rows, args.distill_dims) for name in names}
    print(f"OOV rate on entity tokens ({args.corpus}; table sources cut to {args.max_rows} rows)")
    print(f"{'source':<24}" + "".join(f"{s + ' (' + str(len(t)) + ')':>18}" for s, t in splits.items()))
    for name, source in sources.items():
        cells = []
        for tokens in splits.values():
            covered = source_covers(source, tokens) if tokens else []
            cells.append(f"{100 * (1 - sum(covered) / max(len(tokens), 1)):>17.2f}%")
        print(f"{name:<24}" + "".join(cells))


if __name__ == "__main__":
    main()
