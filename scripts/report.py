"""Compare our evaluated models with the paper, and show what kind of mistakes they make.

    python scripts/report.py --metrics metrics/sample --out reports/sample \
        [--corpus corpus/sample/test.labelled.spacy --models cwi=training/sample/cwi/model-best ...]

Reads every `*.json` that `python -m spacy evaluate ... --output X.json` wrote in the metrics folder (the
model's name is the file's stem) and writes OUT/report.md, a table of overall P/R/F1 and per-type F1 beside
the paper's Table 4 (test F1 on Twitter-2015), and OUT/f1.png, the same F1 scores as bar charts. With
--corpus and --models it also runs each model on the corpus and counts its errors per gold type: right span
but wrong type ("ORG->LOC 3"), partly overlapping span, missed entities, and invented ones.
"""
import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

# Table 4 of Asgari-Chenaghlu et al. (test F1 % on Twitter-2015), shared with bench_twitter2015.py
PAPER_TABLE4: List[Tuple[str, float]] = [
    (name, f1) for name, f1 in json.loads((Path(__file__).with_name("paper_table4.json")).read_text(encoding="utf8"))["rows"]
]
Scores = Dict[str, object]


class ReportError(Exception):
    """Stops the report with a one-line message."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", type=Path, required=True, help="folder of `spacy evaluate --output` JSONs")
    parser.add_argument("--out", type=Path, required=True, help="folder to write report.md and f1.png to")
    parser.add_argument("--corpus-name", default=None, help="what our rows were evaluated on (default: "
                        "the metrics folder's name)")
    parser.add_argument("--corpus", type=Path, default=None, help="DocBin to count each model's errors on")
    parser.add_argument("--models", nargs="+", default=[], metavar="NAME=PATH", help="pipelines to count errors of")
    args = parser.parse_args(argv)
    try:
        if bool(args.corpus) != bool(args.models):
            raise ReportError("--corpus and --models go together")
        models = [_name_and_path(spec) for spec in args.models]
        scores = load_metrics(args.metrics)
        corpus_name = args.corpus_name or args.metrics.resolve().name
        errors = {name: count_errors(path, args.corpus) for name, path in models}
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    markdown = scores_section(scores, args.metrics, corpus_name)
    if errors:
        markdown += errors_section(errors, args.corpus)
    (args.out / "report.md").write_text(markdown, encoding="utf8")
    plot_f1(scores, corpus_name, args.out / "f1.png")
    print(f"{len(scores)} models, {len(errors)} error counts: {args.out / 'report.md'}, {args.out / 'f1.png'}")
    return 0


def _name_and_path(spec: str) -> Tuple[str, Path]:
    name, sep, path = spec.partition("=")
    if not sep or not name or not path:
        raise ReportError(f"--models wants NAME=PATH, not {spec!r}")
    return name, Path(path)


def load_metrics(folder: Path) -> Dict[str, Scores]:
    """model name (the file's stem) -> the scores `spacy evaluate` wrote; files without NER scores are
    reported on stderr and left out."""
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such folder")
    scores = {}
    for path in sorted(folder.glob("*.json")):
        try:
            value = json.loads(path.read_text(encoding="utf8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            print(f"skipped {path}: not JSON ({error})", file=sys.stderr)
            continue
        if not isinstance(value, dict) or "ents_f" not in value:
            print(f"skipped {path}: no NER scores (ents_f)", file=sys.stderr)
            continue
        scores[path.stem] = value
    if not scores:
        raise ReportError(f"{folder}: no `spacy evaluate` output with NER scores (*.json)")
    return scores


def type_f1(scores: Scores, label: str) -> Optional[float]:
    """F1 (0-1) of one entity type; None where spaCy saw the type in neither gold nor predictions."""
    per_type = scores.get("ents_per_type") or {}
    return per_type.get(label, {}).get("f")


def entity_types(scores: Dict[str, Scores]) -> List[str]:
    """The entity types that any model's metrics score, sorted: the corpus's own, however many."""
    return sorted({label for value in scores.values() for label in (value.get("ents_per_type") or {})})


def _heading(label: str) -> str:
    return "OTHER (MISC)" if label == "OTHER" else label


def _pct(value: Optional[float]) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def scores_section(scores: Dict[str, Scores], metrics: Path, corpus_name: str) -> str:
    """The Markdown title, the note on what is comparable, and the scores table (a column per entity type)."""
    types = entity_types(scores)
    lines = [
        "# NER results\n",
        f"**Our rows** are `spacy evaluate` scores (the files in `{metrics}`), on the **{corpus_name}** corpus. "
        "**Paper rows** are Table 4 of Asgari-Chenaghlu et al.: test F1 on **Twitter-2015**. The two are "
        "comparable only where our corpus is Twitter-2015's test set. Scores in %; "
        + ("the paper calls OTHER \"MISC\"; " if "OTHER" in types else "") + "– : not reported.\n",
        "| model | scored on | P | R | F1 | " + "".join(f"{_heading(label)} | " for label in types),
        "|---|---|---:|---:|---:|" + "---:|" * len(types),
    ]
    for name, value in scores.items():
        per_type = "".join(f"{_pct(type_f1(value, label))} | " for label in types)
        lines.append(f"| {name} | ours: {corpus_name} | {_pct(value.get('ents_p'))} | {_pct(value.get('ents_r'))} "
                     f"| {_pct(value.get('ents_f'))} | {per_type}")
    not_given = "".join("– | " for _ in types)
    for name, f1 in PAPER_TABLE4:
        lines.append(f"| {name} | paper: Twitter-2015 | – | – | {f1:.2f} | {not_given}")
    return "\n".join(lines) + "\n"


@dataclass
class ErrorCounts:
    """A model's entities against the gold ones, counted by character span.

    Per gold type: `gold` entities, `correct` (same span and type), `confused[(gold type, predicted type)]`
    (same span, other type), `partial` (no prediction with the same span, but one overlapping) and `missed`
    (no overlapping prediction). `invented[predicted type]`: predictions that overlap no gold entity.
    """

    gold: Counter = field(default_factory=Counter)
    correct: Counter = field(default_factory=Counter)
    confused: Counter = field(default_factory=Counter)
    partial: Counter = field(default_factory=Counter)
    missed: Counter = field(default_factory=Counter)
    invented: Counter = field(default_factory=Counter)

    def add(self, gold: Iterable[Tuple[int, int, str]], predicted: Iterable[Tuple[int, int, str]]) -> None:
        """Count one post's (start char, end char, label) entities."""
        gold, predicted = list(gold), list(predicted)
        by_span = {(start, end): label for start, end, label in predicted}
        for start, end, label in gold:
            self.gold[label] += 1
            other = by_span.get((start, end))
            if other == label:
                self.correct[label] += 1
            elif other is not None:
                self.confused[(label, other)] += 1
            elif any(_overlap((start, end), (s, e)) for s, e, _ in predicted):
                self.partial[label] += 1
            else:
                self.missed[label] += 1
        for start, end, label in predicted:
            if not any(_overlap((start, end), (s, e)) for s, e, _ in gold):
                self.invented[label] += 1


def _overlap(a: Tuple[int, int], b: Tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def count_errors(model: Path, corpus: Path) -> ErrorCounts:
    """Run the pipeline at `model` on `corpus`'s posts (with their image data, as `spacy evaluate` does)."""
    import spacy
    from spacy.tokens import DocBin

    from spacy_mner.extensions import copy_image_data

    try:
        nlp = spacy.load(model)
    except Exception as error:  # spaCy raises several types for a missing or broken pipeline folder
        raise ReportError(f"{model}: cannot load a spaCy pipeline ({str(error).strip().splitlines()[0]})") from None
    if not corpus.is_file():
        raise ReportError(f"{corpus}: no such file")
    references = list(DocBin(store_user_data=True).from_disk(corpus).get_docs(nlp.vocab))
    inputs = []
    for reference in references:
        doc = nlp.make_doc(reference.text)
        copy_image_data(reference, doc)
        inputs.append(doc)
    counts = ErrorCounts()
    for reference, doc in zip(references, nlp.pipe(inputs)):
        counts.add(_spans(reference), _spans(doc))
    return counts


def _spans(doc) -> List[Tuple[int, int, str]]:
    return [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]


def errors_section(errors: Dict[str, ErrorCounts], corpus: Path) -> str:
    """One Markdown table per model of its `ErrorCounts` on `corpus`."""
    lines = [f"\n## Errors on `{corpus}`\n",
             "Entities compared by character span. *wrong type*: the exact span with another type (gold->"
             "predicted); *partial span*: no prediction with the gold span, but one overlapping it; *missed*: "
             "no overlapping prediction; *invented*: a prediction overlapping no gold entity.\n"]
    for name, counts in errors.items():
        present = set(counts.gold) | set(counts.invented)
        labels = sorted(present)
        lines += [f"### {name}\n", "| type | gold | correct | wrong type | partial span | missed | invented |",
                  "|---|---:|---:|---|---:|---:|---:|"]
        for label in labels:
            confused = ", ".join(f"{g}->{p} {n}" for (g, p), n in counts.confused.most_common() if g == label)
            lines.append(f"| {label} | {counts.gold[label]} | {counts.correct[label]} | {confused or '–'} | "
                         f"{counts.partial[label]} | {counts.missed[label]} | {counts.invented[label]} |")
        lines.append(f"| all | {sum(counts.gold.values())} | {sum(counts.correct.values())} | "
                     f"{sum(counts.confused.values())} | {sum(counts.partial.values())} | "
                     f"{sum(counts.missed.values())} | {sum(counts.invented.values())} |\n")
    return "\n".join(lines)


def plot_f1(scores: Dict[str, Scores], corpus_name: str, path: Path) -> None:
    """Left: our models' per-type and overall F1, grouped by type. Right: overall F1 of ours beside the
    paper's Table 4 rows (Twitter-2015)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    types = entity_types(scores)
    groups = types + ["overall"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / len(scores)
    for i, (name, value) in enumerate(scores.items()):
        f1 = [type_f1(value, label) for label in types] + [value.get("ents_f")]
        heights = [0.0 if v is None else 100 * v for v in f1]
        left.bar([g + (i - (len(scores) - 1) / 2) * width for g in range(len(groups))], heights, width, label=name)
    left.set_xticks(range(len(groups)), [_heading(g) for g in groups], rotation=30 if len(groups) > 6 else 0)
    left.set_ylabel("F1 (%)")
    left.set_ylim(0, 100)
    left.set_title(f"ours, on {corpus_name}")
    left.legend(fontsize="small")

    names = [name for name, _ in PAPER_TABLE4] + [f"{name} (ours)" for name in scores]
    values = [f1 for _, f1 in PAPER_TABLE4] + [100 * float(value.get("ents_f") or 0) for value in scores.values()]
    colours = ["#bbbbbb"] * len(PAPER_TABLE4) + [f"C{i}" for i in range(len(scores))]
    right.barh(range(len(names)), values, color=colours)
    right.set_yticks(range(len(names)), names, fontsize="small")
    right.invert_yaxis()
    right.set_xlim(0, 100)
    right.set_xlabel("overall F1 (%)")
    right.set_title(f"paper (grey): Twitter-2015 test; ours: {corpus_name}")
    for y, v in enumerate(values):
        right.text(v + 1, y, f"{v:.1f}", va="center", fontsize="x-small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
