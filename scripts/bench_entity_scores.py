"""What the entity confidences cost: the speed of a trained pipeline's `crf_ner` with `spans_key` set (scores
computed) and null (none), on the same posts, best of N runs each (the components before it run once,
untimed, so the image classifier does not hide the difference).

    python scripts/bench_entity_scores.py MODEL TEST.spacy [--repeat 3] [--copies 4]
"""
import argparse
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("test", type=Path, help="DocBin of posts (their image data is used as stored)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting; the best counts")
    parser.add_argument("--copies", type=int, default=4, help="times the posts are repeated per run")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    import spacy
    from spacy.tokens import DocBin

    from spacy_mner.extensions import copy_image_data

    nlp = spacy.load(args.model)
    ner = next(proc for _, proc in nlp.pipeline if hasattr(proc, "spans_key"))
    golds = list(DocBin(store_user_data=True).from_disk(args.test).get_docs(nlp.vocab)) * args.copies
    key = ner.spans_key or "ents"
    docs = [nlp.make_doc(gold.text) for gold in golds]
    for doc, gold in zip(docs, golds):
        copy_image_data(gold, doc)
    with nlp.select_pipes(disable=[name for name, proc in nlp.pipeline if proc is ner]):
        docs = list(nlp.pipe(docs, batch_size=args.batch_size))  # image labels etc., once, not timed
    speeds = {}
    for setting in (None, key) * args.repeat:  # interleaved, so that load on a shared machine hits both
        ner.spans_key = setting
        start = time.perf_counter()
        n_ents = sum(len(doc.ents) for doc in ner.pipe(docs, batch_size=args.batch_size))
        speeds[setting] = max(speeds.get(setting, 0.0), len(docs) / (time.perf_counter() - start))
    off, on = speeds[None], speeds[key]
    print(f"{len(golds)} posts, {n_ents} entities, {'CRF' if ner.cfg['use_crf'] else 'softmax'}: "
          f"without scores {off:.0f} posts/s, with scores {on:.0f} posts/s ({100 * (off / on - 1):+.1f}% time per post)")


if __name__ == "__main__":
    main()
