"""How well the entity confidences are calibrated: a reliability table, the expected calibration error
(ECE) and a reliability diagram, for a trained pipeline on a test DocBin.

Each predicted entity's score (`doc.spans[spans_key].attrs["scores"]`) is binned; in each bin the share of
entities that are exactly right (same span and label as a gold entity) should equal the mean score.
ECE = sum over bins of (entities in bin / all entities) * |accuracy - mean score|.

    python scripts/calibration.py MODEL TEST.spacy --out training/calibration.png [--mode tokens] [--bins 10]
"""
import argparse
from pathlib import Path
from typing import List, Tuple

from spacy_mner.corpus.text_modes import TEXT_MODES
from spacy_mner.pipeline.calibration import reliability


def scored_entities(model: Path, test: Path, mode: str) -> List[Tuple[float, bool]]:
    """(score, exactly right) of every entity the pipeline predicts on `test` in text mode `mode`."""
    import spacy
    from spacy.tokens import DocBin

    from spacy_mner.corpus.text_modes import examples_in_mode
    from spacy_mner.pipeline.confidence import entity_scores, pipeline_spans_key

    nlp = spacy.load(model)
    key = pipeline_spans_key(nlp)
    if key is None:
        raise SystemExit(f"{model}: no component gives entity scores (crf_ner with spans_key set)")
    golds = list(DocBin(store_user_data=True).from_disk(test).get_docs(nlp.vocab))
    examples = examples_in_mode(nlp, golds, mode)
    out = []
    for eg, doc in zip(examples, nlp.pipe([eg.predicted for eg in examples])):
        gold = {(ent.start_char, ent.end_char, ent.label_) for ent in eg.reference.ents}
        for ent, score in zip(doc.ents, entity_scores(doc, key)):
            out.append((score, (ent.start_char, ent.end_char, ent.label_) in gold))
    return out


def print_table(rows, ece: float) -> None:
    """The reliability table (Markdown) and the ECE."""
    print("| score bin | entities | mean score | share exactly right |")
    print("|---|---|---|---|")
    for low, high, n, confidence, accuracy in rows:
        print(f"| {low:.1f}-{high:.1f} | {n} | {confidence:.3f} | {accuracy:.3f} |")
    print(f"\nexpected calibration error (ECE, {len(rows)} non-empty bins): {ece:.4f}")


def diagram(rows, ece: float, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.bar([(low + high) / 2 for low, high, *_ in rows], [acc for *_, acc in rows],
           width=[high - low for low, high, *_ in rows], edgecolor="black", alpha=0.7, label="accuracy")
    ax.plot([conf for *_, conf, _ in rows], [acc for *_, acc in rows], "o-", color="crimson", label="mean score")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="entity score", ylabel="share exactly right",
           title=f"{title}\nECE {ece:.3f}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("test", type=Path, help="DocBin with gold entities (as `convert` writes it)")
    parser.add_argument("--out", type=Path, default=Path("training/calibration.png"), help="reliability diagram")
    parser.add_argument("--mode", choices=TEXT_MODES, default="tokens", help="what the pipeline is given")
    parser.add_argument("--bins", type=int, default=10)
    args = parser.parse_args()
    entities = scored_entities(args.model, args.test, args.mode)
    if not entities:
        raise SystemExit("the pipeline predicts no entities on this DocBin: nothing to calibrate")
    rows, ece = reliability(entities, args.bins)
    print(f"{len(entities)} predicted entities, {sum(ok for _, ok in entities)} exactly right; text mode {args.mode}\n")
    print_table(rows, ece)
    diagram(rows, ece, args.out, f"{args.model.name} on {args.test.name}")
    print(f"reliability diagram: {args.out}")


if __name__ == "__main__":
    main()
