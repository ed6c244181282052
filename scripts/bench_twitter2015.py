"""Benchmark the models on Twitter-2015: train on train (dev for model selection), score test, time them.

Prints a Markdown table beside the paper's Table 4 rows and writes the numbers to OUT/results.json (rows of
earlier runs into the same OUT are kept, unless this run measures their key again).
Every model is trained and scored with spaCy's own commands (`spacy train`, `spacy evaluate`); training
wall time and peak memory (RSS) of training and prediction are measured, and the prediction speed of each
model beside spaCy's stock `ner` trained on the same data in the same run.

    python scripts/bench_twitter2015.py --data-dir ../shared/data/twitter2015 --out training/bench \
        --models cwi,cwi_none,cwi_no_td_gn_sinerelu,stock_ner
    python scripts/bench_twitter2015.py --models msb,msb_crf,msb_crf_none,stock_ner
    python scripts/bench_twitter2015.py --models msb_crf_bf16   # msb_crf (trained above) predicting in bfloat16
    python scripts/bench_twitter2015.py --models cwi,cwi_none --seeds 0,1,2   # mean and spread of 3 seeds
    python scripts/bench_twitter2015.py --text-modes-of MODEL TEST.spacy   # the three text-mode F1s of one model
    python scripts/bench_twitter2015.py --no-image-words-of MODEL TEST.spacy   # its F1 with the image words removed

Each model is also scored in the three text modes of `spacy_mner.corpus.text_modes` (on the corpus tokens,
on the tokens joined by one space, on the text with punctuation attached as typed), the F1 users get from
`nlp(text)`; a second table prints them, with the expected calibration error of the entity scores on test
before and after `python -m spacy_mner calibrate` fits their temperature on dev (reliability diagrams in
OUT/KEY/seedN/calibration*.png; see scripts/calibration.py). The seeds table adds the test F1 with every
post's image words removed at prediction (`no image words`): what a model trained with them gets from text alone.

With several `--seeds`, each key is trained once per seed (OUT/KEY/seedN), the prediction speed is
measured for the first seed only, and a third table gives each key's mean and spread (sample standard
deviation, min-max) over its seeds, with the best dev F1 that chose each model.

Time it on an otherwise idle machine and without OMP_WAIT_POLICY=PASSIVE, which costs torch about a third
of its speed on 2 idle cores (the machine line of the table says which was set).
The converted corpora and models stay under OUT (git-ignored): the data may not be redistributed.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
# Table 4 of the paper (Twitter-2015 test F1), shared with report.py
PAPER = json.loads((ROOT / "scripts" / "paper_table4.json").read_text(encoding="utf8"))["rows"]
CONFIGS = ROOT / "configs"
SPLIT_FILES = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}  # both corpora's file names
VECTORS, WIDTH = ["--initialize.before_init.sources"], ["--components.ner.model.vectors_width"]
# CWI's ablations (suffix: label, overrides), each trained on configs/cwi.cfg's vectors (`cwi...`) and on
# GloVe + en_core_web_md alone (`cwi_glove_md...`, the default before 2026-12-02), so that the rows of each
# base compare like with like
CWI_VARIANTS = {
    "": ("caption words", []),
    "_none": ("no image words", ["--components.ner.model.use_image", "false"]),
    "_content": ("caption content words", ["--components.ner.model.content_image_words", "true"]),
    "_no_chars": ("caption words, no character CNN", ["--components.ner.model.use_chars", "false"]),
    "_no_words": ("caption words, no word vectors", ["--components.ner.model.use_words", "false"]),
    "_no_td_gn_sinerelu": ("caption words, no TD+GN+SineReLU", ["--components.ner.model.char_regularizers", "false"]),
    "_xview": ("caption words, cross-view training (weight 1)", ["--components.ner.cross_view_weight", "1.0"]),
    "_attention": ("caption words, modality attention", ["--components.ner.model.attention", "true"]),
    "_hashed": ("caption words in hashed rows (before 2026-12-03)", ["--components.ner.model.image_vectors", "false"]),
}
# the configs before 2026-12-01 (issue 14's baseline): spaCy's English tokenizer instead of the social media one
SPACY_TOKENIZER = ["--nlp.tokenizer", '{"@tokenizers":"spacy.Tokenizer.v1"}']
# ... and trained on the corpus's own tokens, as spaCy's reader gives them for a DocBin without whitespace
CORPUS_TOKENS = [*SPACY_TOKENIZER, "--corpora.train.gold_preproc", "true", "--corpora.dev.gold_preproc", "true"]
GLOVE_MD = [*VECTORS, "glove-6b-50d,en_core_web_md", *WIDTH, "350", "--initialize.before_init.max_rows", "200000"]
# word vectors distilled from a transformer (Model2Vec; docs/architectures.md): alone, and after GloVe + md
M2V = {
    "cwi_m2v_minilm": ("MiniLM-L6-distilled vectors", [*VECTORS, "m2v-minilm", *WIDTH, "256"]),
    "cwi_m2v_mpnet": ("mpnet-distilled vectors", [*VECTORS, "m2v-mpnet", *WIDTH, "256"]),
    "cwi_glove_md_m2v_minilm": ("GloVe + en_core_web_md + MiniLM-L6-distilled vectors",
                                [*VECTORS, "glove-6b-50d,en_core_web_md,m2v-minilm", *WIDTH, "606"]),
    "cwi_glove_md_m2v_mpnet": ("GloVe + en_core_web_md + mpnet-distilled vectors, 200k rows",
                               [*VECTORS, "glove-6b-50d,en_core_web_md,m2v-mpnet", *WIDTH, "606",
                                "--initialize.before_init.max_rows", "200000"]),
    "cwi_glove_md_m2v_mpnet_50k": ("GloVe + en_core_web_md + mpnet-distilled vectors, 50k rows",
                                   [*VECTORS, "glove-6b-50d,en_core_web_md,m2v-mpnet", *WIDTH, "606",
                                    "--initialize.before_init.max_rows", "50000"]),
}
# configs/msb.cfg trains with cross-view training since 2026-12-03; these keys measured, and pin, one view
ONE_VIEW = ["--components.ner.cross_view_weight", "0.0"]
MSB_ONE_VIEW = {
    "msb": ("MSB (MiniLM-L6), caption words", ["--components.ner.use_crf", "false"]),
    "msb_crf": ("MSB (MiniLM-L6) + CRF, caption words, case embeddings", []),
    "msb_crf_no_case": ("MSB (MiniLM-L6) + CRF, caption words, no case embeddings", ["--components.ner.model.case_features", "false"]),
    "msb_crf_none": ("MSB (MiniLM-L6) + CRF, no image words", ["--components.ner.model.image_words", "none"]),
    "msb_crf_content": ("MSB (MiniLM-L6) + CRF, caption content words", ["--components.ner.model.content_image_words", "true"]),
    "msb_crf_l4": ("MSB (MiniLM-L6, first 4 layers) + CRF, caption words", ["--components.ner.model.n_layers", "4"]),
    "msb_crf_l2": ("MSB (MiniLM-L6, first 2 layers) + CRF, caption words", ["--components.ner.model.n_layers", "2"]),
}
# key: (label, config, overrides, prediction batch size)
MODELS = {
    **{f"cwi{suffix}": (f"CWI, {label}", CONFIGS / "cwi.cfg", overrides, 256)
       for suffix, (label, overrides) in CWI_VARIANTS.items()},
    **{f"cwi_glove_md{suffix}": (f"CWI, GloVe + en_core_web_md vectors, {label}", CONFIGS / "cwi.cfg",
                                 GLOVE_MD + overrides, 256) for suffix, (label, overrides) in CWI_VARIANTS.items()},
    **{key: (f"CWI, caption words, {label}", CONFIGS / "cwi.cfg", overrides, 256) for key, (label, overrides) in M2V.items()},
    **{key: (f"{label}, one view", CONFIGS / "msb.cfg", [*overrides, *ONE_VIEW], 64)
       for key, (label, overrides) in MSB_ONE_VIEW.items()},
    "msb_crf_xview": ("MSB (MiniLM-L6) + CRF, caption words, cross-view training (weight 1; configs/msb.cfg since "
                      "2026-12-03)", CONFIGS / "msb.cfg", ["--components.ner.cross_view_weight", "1.0"], 64),
    "msb_crf_xview_text": ("MSB (MiniLM-L6) + CRF, caption words, cross-view training (weight 1), the KL term pulls "
                           "the text view only", CONFIGS / "msb.cfg",
                           ["--components.ner.cross_view_weight", "1.0", "--components.ner.cross_view_pull", "text"], 64),
    # the control of cross-view training: no image words, so both views read the same text (two dropout masks)
    "msb_crf_none_xview": ("MSB (MiniLM-L6) + CRF, no image words, cross-view training (weight 1)", CONFIGS / "msb.cfg",
                           ["--components.ner.model.image_words", "none", "--components.ner.cross_view_weight", "1.0"], 64),
    "msb_crf_conll": ("MSB (MiniLM-L6) + CRF, CoNLL-2003 first, caption words, case embeddings, one view",
                      CONFIGS / "msb_crf_stage2.cfg", [], 64),
    "msb_crf_conll_xview": ("MSB (MiniLM-L6) + CRF, CoNLL-2003 first, caption words, case embeddings, cross-view "
                            "training (weight 1; the two_stage workflow since 2026-12-03)", CONFIGS / "msb_crf_stage2.cfg", [], 64),
    "msb_crf_conll_spacy_tokenizer": ("MSB (MiniLM-L6) + CRF, CoNLL-2003 first, caption words, case embeddings, "
                                      "spaCy's default tokenizer", CONFIGS / "msb_crf_stage2.cfg", SPACY_TOKENIZER, 64),
    "msb_crf_conll_corpus_tokens": ("MSB (MiniLM-L6) + CRF, CoNLL-2003 first, caption words, case embeddings, spaCy's "
                                    "default tokenizer, trained on the corpus's tokens (the configs before 2026-12-01)",
                                    CONFIGS / "msb_crf_stage2.cfg", CORPUS_TOKENS, 64),
}
# key: overrides of the first stage, configs/msb.cfg trained on CoNLL-2003, whose last state's `ner` the
# key's run sources (one epoch: 14041 sentences / 16 per batch = 878 steps, 125 of them warming up: a warm-up
# share of 0.1424; as project.yml's conll_* vars)
# stage 2 sources `ner` with its settings, so cross-view training is set in the first stage (a no-op on
# CoNLL-2003, whose sentences have no image words) and goes on in the second
CONLL_EPOCH = ["--training.max_epochs", "1", "--training.optimizer.learn_rate.warmup", "0.1424", "--training.eval_frequency", "300"]
FIRST_STAGE = {
    "msb_crf_conll": [*CONLL_EPOCH, *ONE_VIEW],
    "msb_crf_conll_xview": [*CONLL_EPOCH, "--components.ner.cross_view_weight", "1.0"],
}
FIRST_STAGE["msb_crf_conll_spacy_tokenizer"] = [*FIRST_STAGE["msb_crf_conll"], *SPACY_TOKENIZER]
FIRST_STAGE["msb_crf_conll_corpus_tokens"] = [*FIRST_STAGE["msb_crf_conll"], *CORPUS_TOKENS]

# key: (label, base key, load-time config overrides): the base key's trained model, loaded with the overrides
# and saved again, is scored and timed as a row of its own. It trains nothing: the base key is trained in the
# same run, or was trained into the same --out by an earlier one.
DERIVED = {
    f"{base}_bf16": (f"{MODELS[base][0]}, bfloat16 prediction", base, {"components.ner.model.mixed_precision": True})
    for base in MODELS
}


def run(cmd: List[str], stdout=None) -> Tuple[float, float]:
    """Run a command; its wall time in seconds and its peak resident memory in MB (Linux's VmHWM)."""
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=stdout)
    peak_kb = 0
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            peak_kb = max(peak_kb, int(status.split("VmHWM:")[1].split()[0]))
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.5)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, cmd)
    return time.perf_counter() - start, peak_kb / 1024


def convert(data_dir: Path, corpus: Path, format: str = "twitter2015", splits: Tuple[str, ...] = ("train", "dev", "test")) -> Dict[str, Path]:
    from spacy_mner.corpus.docbin import convert as convert_file

    paths = {}
    for split in splits:
        name = SPLIT_FILES[split]
        paths[split] = corpus / f"{split}.spacy"
        captions = data_dir / "captions_blip2.txt" if format == "twitter2015" else None
        stats = convert_file(data_dir / name, paths[split], captions=captions, format=format)
        print(f"{format} {split}: {stats.report()}")
    return paths


def derive(base: Path, out: Path, load_config: Dict) -> None:
    """Save the trained pipeline `base` again as `out`, with load-time config overrides."""
    import spacy

    if not (base / "config.cfg").is_file():
        sys.exit(f"{base} not found: train its key first (in this run or an earlier one with the same --out)")
    out.parent.mkdir(parents=True, exist_ok=True)
    spacy.load(base, config=load_config).to_disk(out)


def posts_per_second(model: Path, test: Path, batch_size: int) -> float:
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


def text_mode_scores(model: Path, test: Path) -> Dict[str, float]:
    """Test F1 (0-100) of the trained pipeline `model` in each text mode (see the module docstring)."""
    import spacy
    from spacy.tokens import DocBin

    from spacy_mner.corpus.text_modes import TEXT_MODES, examples_in_mode

    nlp = spacy.load(model)
    golds = list(DocBin(store_user_data=True).from_disk(test).get_docs(nlp.vocab))
    return {mode: 100 * nlp.evaluate(examples_in_mode(nlp, golds, mode))["ents_f"] for mode in TEXT_MODES}


def no_image_words_score(model: Path, test: Path) -> float:
    """Test F1 (0-100) on the corpus tokens with every post's image words removed: what the trained model
    gets from the text alone, so that a gain of a model trained with image words can be told apart from
    what its training did to the text view."""
    import spacy
    from spacy.tokens import DocBin
    from spacy.training import Example

    from spacy_mner.corpus.text_modes import examples_in_mode
    from spacy_mner.pipeline.cross_view import text_view

    nlp = spacy.load(model)
    golds = list(DocBin(store_user_data=True).from_disk(test).get_docs(nlp.vocab))
    # both sides: the pipeline's evaluate copies a reference's image data to a predicted Doc without any
    examples = [Example(text_view(eg.predicted), text_view(eg.reference)) for eg in examples_in_mode(nlp, golds, "tokens")]
    return 100 * nlp.evaluate(examples)["ents_f"]


def has_entity_scores(model: Path) -> bool:
    """Whether the pipeline scores its entities (spaCy's stock `ner` does not)."""
    import spacy

    from spacy_mner.pipeline.confidence import pipeline_spans_key

    return pipeline_spans_key(spacy.load(model)) is not None


def calibrate(model: Path, test: Path, png: Path, title: str) -> float:
    """Print the reliability table of the model's entity scores on test, save the diagram; the ECE."""
    import calibration  # scripts/calibration.py, beside this script

    rows, ece = calibration.reliability(calibration.scored_entities(model, test, "tokens"), bins=10)
    print(f"\n{model}: reliability of the entity scores on test")
    calibration.print_table(rows, ece)
    calibration.diagram(rows, ece, png, f"{title} on Twitter-2015 test")
    return ece


def fit_temperature(model: Path, corpus: Dict[str, Path], output: Path, title: str) -> Dict:
    """Calibrate the model's entity scores on dev (`spacy_mner calibrate`, in place), then the test ECE again:
    the fitted temperature and the calibrated ECE."""
    with open(output / "calibrate.txt", "w") as f:
        run([sys.executable, "-m", "spacy_mner", "calibrate", str(model), str(corpus["dev"])], stdout=f)
    temperature = float((output / "calibrate.txt").read_text().split("temperature ")[1].split(";")[0])
    ece = calibrate(model, corpus["test"], output / "calibration-fitted.png", f"{title}, temperature {temperature:.2f}")
    return {"temperature": temperature, "ece_calibrated": ece}


def measure_prediction(model: Path, test: Path, batch_size: int, out: Path) -> Tuple[float, float]:
    """Prediction speed (posts/s) and peak memory (MB), in a fresh process of its own."""
    with open(out, "w") as f:
        _, peak_mb = run([sys.executable, __file__, "--speed-of", str(model), str(test), str(batch_size)], stdout=f)
    return float(out.read_text()), peak_mb


def main() -> None:
    if sys.argv[1:2] == ["--speed-of"]:
        model, test, batch_size = sys.argv[2:5]
        print(posts_per_second(Path(model), Path(test), int(batch_size)))
        return
    if sys.argv[1:2] == ["--text-modes-of"]:
        model, test = sys.argv[2:4]
        print(" | ".join(f"{mode} {f1:.2f}" for mode, f1 in text_mode_scores(Path(model), Path(test)).items()))
        return
    if sys.argv[1:2] == ["--no-image-words-of"]:
        model, test = sys.argv[2:4]
        print(f"no image words {no_image_words_score(Path(model), Path(test)):.2f}")
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "twitter2015")
    parser.add_argument("--out", type=Path, default=ROOT / "training" / "bench")
    parser.add_argument("--conll-dir", type=Path, default=ROOT.parent / "shared" / "data" / "conll2003",
                        help="CoNLL-2003 (train/valid/test.txt), for the models with a first stage")
    parser.add_argument("--models", default="cwi,cwi_none,cwi_no_td_gn_sinerelu,stock_ner",
                        help=f"comma-separated, any of {','.join([*MODELS, *DERIVED])},stock_ner")
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds (--system.seed), e.g. 0,1,2")
    parser.add_argument("--gpu-id", type=int, default=-1)
    parser.add_argument("--reuse-trained", action="store_true",
                        help="score a key and seed whose model-best an earlier, interrupted run left in --out instead "
                             "of training it again (its training time is then not measured)")
    args = parser.parse_args()
    if not (args.data_dir / "train.txt").is_file():
        sys.exit(f"Twitter-2015 not found in {args.data_dir} (expected train.txt, valid.txt, test.txt, captions_blip2.txt)")
    keys = args.models.split(",")
    if any(key in FIRST_STAGE for key in keys) and not (args.conll_dir / "train.txt").is_file():
        sys.exit(f"CoNLL-2003 not found in {args.conll_dir} (expected train.txt, valid.txt), needed by the first stage")
    seeds = [int(seed) for seed in args.seeds.split(",")]
    corpus = convert(args.data_dir, args.out / "corpus")
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores"
               + (f", GPU {args.gpu_id}" if args.gpu_id >= 0 else "")
               + f", OMP_WAIT_POLICY {os.environ.get('OMP_WAIT_POLICY', 'unset')}")  # PASSIVE slows torch
    saved = args.out / "results.json"
    # rows of earlier runs stay, unless this run measures their key (or the key they derive from) with their seed
    measured = lambda r: r.get("seed", 0) in seeds and (  # noqa: E731
        r["key"] in keys or (r["key"] in DERIVED and DERIVED[r["key"]][1] in keys))
    results = [r for r in json.loads(saved.read_text())["results"] if not measured(r)] if saved.is_file() else []
    unknown = [key for key in keys if key not in MODELS and key not in DERIVED and key != "stock_ner"]
    if unknown:
        sys.exit(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join([*MODELS, *DERIVED])}, stock_ner")
    runs = [(key, *MODELS[key]) for key in keys if key in MODELS]
    if "stock_ner" in keys:
        stock_cfg = args.out / "stock_ner.cfg"
        run([sys.executable, "-m", "spacy", "init", "config", str(stock_cfg), "-l", "en", "-p", "ner", "-o", "efficiency", "--force"])
        runs.append(("stock_ner", "spaCy stock ner (efficiency), same data", stock_cfg, [], 256))
    runs += [(key, DERIVED[key][0], None, [], MODELS[DERIVED[key][1]][3]) for key in keys if key in DERIVED]
    for seed in seeds:
        for key, label, config, overrides, batch_size in runs:
            results.append(measure(args, corpus, seed, key, label, config, overrides, batch_size, timed=seed == seeds[0]))
            saved.write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    print_tables(results, machine)


def measure(args: argparse.Namespace, corpus: Dict[str, Path], seed: int, key: str, label: str, config: Optional[Path],
            overrides: List[str], batch_size: int, timed: bool) -> Dict:
    """Train one key with one seed (or derive it), score it on test; its row of results.json."""
    output = args.out / key / f"seed{seed}"
    common = ["--paths.train", str(corpus["train"]), "--paths.dev", str(corpus["dev"]),
              "--system.seed", str(seed), "--gpu-id", str(args.gpu_id)]
    first_seconds, first_mb, first_command = 0.0, 0.0, ""
    reuse = args.reuse_trained and key not in DERIVED and (output / "model-best" / "meta.json").is_file()
    if key in FIRST_STAGE:
        conll = convert(args.conll_dir, args.out / "corpus-conll2003", format="conll2003", splits=("train", "dev"))
        first = args.out / f"{key}-stage1" / f"seed{seed}"
        first_seconds, first_mb = (None, None) if reuse else run([
            sys.executable, "-m", "spacy", "train", str(CONFIGS / "msb.cfg"), "--output", str(first),
            "--paths.train", str(conll["train"]), "--paths.dev", str(conll["dev"]), "--system.seed", str(seed),
            "--gpu-id", str(args.gpu_id), *FIRST_STAGE[key]])
        overrides = [*overrides, "--paths.source", str(first / "model-last")]
        first_command = f"python -m spacy train configs/msb.cfg (on CoNLL-2003) {' '.join(FIRST_STAGE[key])}, then "
    if key in DERIVED:
        _, base, load_config = DERIVED[key]
        derive(args.out / base / f"seed{seed}" / "model-best", output / "model-best", load_config)
        seconds, train_mb = 0.0, 0.0
        command = f"spacy.load({base} model-best, config={load_config})"
    else:
        if reuse:
            print(f"--reuse-trained: scoring {output / 'model-best'} as it is; its training time is not known", flush=True)
            seconds, train_mb = None, None
        else:
            seconds, train_mb = run([sys.executable, "-m", "spacy", "train", str(config), "--output", str(output), *common, *overrides])
            seconds, train_mb = seconds + first_seconds, max(train_mb, first_mb)
        command = (first_command + f"python -m spacy train {config.relative_to(ROOT) if config.is_relative_to(ROOT) else config} "
                   + " ".join(overrides) + f" --system.seed {seed}")
    metrics, scored = output / "test.json", has_entity_scores(output / "model-best")
    run([sys.executable, "-m", "spacy", "evaluate", str(output / "model-best"), str(corpus["test"]),
         "--output", str(metrics), "--gpu-id", str(args.gpu_id)])
    scores = json.loads(metrics.read_text())
    dev = json.loads((output / "model-best" / "meta.json").read_text()).get("performance", {}).get("ents_f")
    speed, predict_mb = (measure_prediction(output / "model-best", corpus["test"], batch_size, output / "speed.txt")
                         if timed else (None, None))
    return {
        "key": key, "seed": seed, "model": label, "command": command,
        "p": 100 * scores["ents_p"], "r": 100 * scores["ents_r"], "f": 100 * scores["ents_f"],
        "dev_f": None if dev is None else 100 * dev,
        "per_type": {k: 100 * v["f"] for k, v in scores["ents_per_type"].items()},
        "text_mode_f": text_mode_scores(output / "model-best", corpus["test"]),
        "f_no_image_words": no_image_words_score(output / "model-best", corpus["test"]),
        "ece": calibrate(output / "model-best", corpus["test"], output / "calibration.png", f"{key}, seed {seed}")
        if scored else None,
        **(fit_temperature(output / "model-best", corpus, output, f"{key}, seed {seed}") if scored else {}),
        "train_seconds": seconds, "first_stage_seconds": first_seconds, "train_peak_mb": train_mb,
        "posts_per_second": speed, "batch_size": batch_size, "predict_peak_mb": predict_mb,
    }


def spread(values: List[float], digits: int = 2) -> str:
    """'mean ± sample std (min-max)' of one key's seeds, or the one value."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return (f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f} "
            f"({min(values):.{digits}f}-{max(values):.{digits}f})")


def print_tables(results: List[Dict], machine: str) -> None:
    print(f"\nTwitter-2015 test, entity-level micro P/R/F1 (spaCy's scorer); machine: {machine}\n")
    types = sorted({label for r in results for label in r["per_type"]})  # the corpus's own entity types
    print("| model | seed | P | R | F1 | dev F1 | " + "".join(f"{t} | " for t in types)
          + "train time | train peak MB | posts/s (batch) | predict peak MB |")
    print("|---|---|---|---|---|---|" + "---|" * (len(types) + 4))
    for name, f1 in PAPER:
        print(f"| {name} (paper) | | | | {f1:.2f} | | " + "| " * (len(types) + 4))
    for r in results:
        t = r["per_type"]
        print(f"| {r['model']} | {r.get('seed', 0)} | {r['p']:.2f} | {r['r']:.2f} | {r['f']:.2f} | "
              + ("" if r.get("dev_f") is None else f"{r['dev_f']:.2f}") + " | "
              + " | ".join(f"{t[k]:.2f}" if k in t else "–" for k in types)
              + (f" | {r['train_seconds'] / 60:.1f} min | {r['train_peak_mb']:.0f}" if r["train_seconds"] else " | (none) | (none)")
              + (f" | {r['posts_per_second']:.0f} ({r['batch_size']}) | {r['predict_peak_mb']:.0f} |"
                 if r.get("posts_per_second") else " | | |"))
    print("\nTest F1 by what the pipeline is given: the corpus tokens, the tokens joined by one space, typed text\n")
    print("| model | seed | corpus tokens | joined by one space | punctuation as typed | ECE | temperature (dev) | ECE calibrated |")
    print("|---|---|---|---|---|---|---|---|")
    number = lambda value, digits=4: "" if value is None else f"{value:.{digits}f}"  # noqa: E731
    for r in results:
        if "text_mode_f" in r:
            m = r["text_mode_f"]
            print(f"| {r['model']} | {r.get('seed', 0)} | {m['tokens']:.2f} | {m['spaced']:.2f} | {m['typed']:.2f} | "
                  f"{number(r.get('ece'))} | {number(r.get('temperature'), 3)} | {number(r.get('ece_calibrated'))} |")
    by_key: Dict[str, List[Dict]] = {}
    for r in results:
        by_key.setdefault(r["key"], []).append(r)
    print("\nMean ± sample standard deviation (min-max) over each key's seeds\n")
    print("| model | seeds | test F1 | dev F1 | corpus tokens | joined by one space | punctuation as typed | no image words | ECE | "
          "ECE calibrated | " + "".join(f"{t} | " for t in types))
    print("|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(types))
    for key, rows in by_key.items():
        column = lambda get, digits=2: (  # noqa: E731
            spread([get(r) for r in rows], digits) if all(get(r) is not None for r in rows) else "")
        modes = [column(lambda r, m=m: r.get("text_mode_f", {}).get(m)) for m in ("tokens", "spaced", "typed")]
        print(f"| {rows[0]['model']} | {','.join(str(r.get('seed', 0)) for r in rows)} | {column(lambda r: r['f'])} | "
              f"{column(lambda r: r.get('dev_f'))} | " + " | ".join(modes) + f" | {column(lambda r: r.get('f_no_image_words'))}"
              f" | {column(lambda r: r.get('ece'), 3)} | {column(lambda r: r.get('ece_calibrated'), 3)} | "
              + "".join(f"{column(lambda r, t=t: r['per_type'].get(t))} | " for t in types))

if __name__ == "__main__":
    main()
