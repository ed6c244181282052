"""Benchmark CWI on Twitter-2015: train on train (dev for model selection), score test, time prediction.

Prints a Markdown table beside the paper's Table 4 rows and writes the numbers to OUT/results.json.
Every model is trained and scored with spaCy's own commands (`spacy train`, `spacy evaluate`); the
prediction speed of each model is measured in this run beside spaCy's stock `ner` trained on the same data.

    python scripts/bench_cwi.py --data-dir ../shared/data/twitter2015 --out training/bench-cwi

The converted corpora and models stay under OUT (git-ignored): the data may not be redistributed.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
PAPER = {  # Table 4, Twitter-2015 test, entity-level micro F1
    "BiLSTM+CRF (paper's baseline)": 64.42,
    "CWI (paper)": 71.61,
    "CWI + attention (paper)": 71.19,
}
VARIANTS = {
    "caption": ("CWI, caption words", []),
    "none": ("CWI, no image words", ["--components.ner.model.use_image", "false"]),
    "no_td_gn_sinerelu": ("CWI, caption words, no TD+GN+SineReLU", ["--components.ner.model.char_regularizers", "false"]),
    "attention": ("CWI + attention, caption words", ["--components.ner.model.attention", "true"]),
}


def run(cmd: List[str]) -> float:
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def convert(data_dir: Path, corpus: Path) -> Dict[str, Path]:
    from spacy_mner.corpus.convert import convert as convert_file

    paths = {}
    for split, name in (("train", "train.txt"), ("dev", "valid.txt"), ("test", "test.txt")):
        paths[split] = corpus / f"{split}.spacy"
        stats = convert_file(data_dir / name, paths[split], captions=data_dir / "captions_blip2.txt")
        print(f"{split}: {stats.report()}")
    return paths


def posts_per_second(model: Path, test: Path, batch_size: int = 256) -> float:
    """Prediction speed with image labels precomputed: Docs from the DocBin, whole pipeline, best of 2."""
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.load(model)
    docs = list(DocBin().from_disk(test).get_docs(nlp.vocab))
    best = 0.0
    for _ in range(2):
        fresh = [nlp.make_doc(d.text) for d in docs]
        for new, old in zip(fresh, docs):
            new._.image_caption, new._.image_labels = old._.image_caption, old._.image_labels
        start = time.perf_counter()
        for _ in nlp.pipe(fresh, batch_size=batch_size):
            pass
        best = max(best, len(docs) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "twitter2015")
    parser.add_argument("--out", type=Path, default=ROOT / "training" / "bench-cwi")
    parser.add_argument("--variants", default="caption,none,no_td_gn_sinerelu", help=f"any of {','.join(VARIANTS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gpu-id", type=int, default=-1)
    parser.add_argument("--skip-stock-ner", action="store_true")
    args = parser.parse_args()
    if not (args.data_dir / "train.txt").is_file():
        sys.exit(f"Twitter-2015 not found in {args.data_dir} (expected train.txt, valid.txt, test.txt, captions_blip2.txt)")
    corpus = convert(args.data_dir, args.out / "corpus")
    common = ["--paths.train", str(corpus["train"]), "--paths.dev", str(corpus["dev"]),
              "--system.seed", str(args.seed), "--gpu-id", str(args.gpu_id)]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores" + (f", GPU {args.gpu_id}" if args.gpu_id >= 0 else "")
    results = []
    runs = [(key, *VARIANTS[key], ROOT / "configs" / "cwi.cfg") for key in args.variants.split(",")]
    if not args.skip_stock_ner:
        stock_cfg = args.out / "stock_ner.cfg"
        run([sys.executable, "-m", "spacy", "init", "config", str(stock_cfg), "-l", "en", "-p", "ner", "-o", "efficiency", "--force"])
        runs.append(("stock_ner", "spaCy stock ner (efficiency)", [], stock_cfg))
    for key, label, overrides, config in runs:
        output = args.out / key
        seconds = run([sys.executable, "-m", "spacy", "train", str(config), "--output", str(output), *common, *overrides])
        metrics = args.out / f"{key}.json"
        run([sys.executable, "-m", "spacy", "evaluate", str(output / "model-best"), str(corpus["test"]),
             "--output", str(metrics), "--gpu-id", str(args.gpu_id)])
        scores = json.loads(metrics.read_text())
        results.append({
            "key": key, "model": label, "p": 100 * scores["ents_p"], "r": 100 * scores["ents_r"], "f": 100 * scores["ents_f"],
            "per_type": {k: 100 * v["f"] for k, v in scores["ents_per_type"].items()},
            "train_seconds": seconds, "posts_per_second": posts_per_second(output / "model-best", corpus["test"]),
            "command": f"python -m spacy train {config.relative_to(ROOT) if config.is_relative_to(ROOT) else config} "
                       + " ".join(overrides) + f" --system.seed {args.seed}",
        })
        (args.out / "results.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    print(f"\nTwitter-2015 test, entity-level micro P/R/F1 (spaCy's scorer); machine: {machine}; seed {args.seed}\n")
    print("| model | P | R | F1 | PER | LOC | ORG | OTHER | train time | posts/s (batch 256) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, f1 in PAPER.items():
        print(f"| {name} | | | {f1:.2f} | | | | | | |")
    for r in results:
        t = r["per_type"]
        print(f"| {r['model']} | {r['p']:.2f} | {r['r']:.2f} | {r['f']:.2f} | "
              + " | ".join(f"{t.get(k, 0):.2f}" for k in ("PER", "LOC", "ORG", "OTHER"))
              + f" | {r['train_seconds'] / 60:.1f} min | {r['posts_per_second']:.0f} |")


if __name__ == "__main__":
    main()
