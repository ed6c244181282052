"""Throughput and peak memory of `predict` on one machine: one process, `--n-process 2`, and `--engine ray`.

Generates N posts from the bundled sample corpus (its text, and its picture where the post has one: about
two posts in five), runs each engine on them as a command of its own, and prints a Markdown table of
wall-clock time, posts/s and peak memory: the summed RSS of the command and all its descendants (for Ray:
the driver, GCS, raylet and workers), sampled every 0.2 s; shared pages are counted once per process, so
it overstates a little. Wall time includes loading the pipeline (and starting Ray): run two sizes and take
(N2 - N1) / (t2 - t1) for the steady rate.

    python scripts/bench_ray.py training/sample/cwi/model-best --posts 2000 10000
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import psutil

from spacy_mner.corpus.twitter import read_twitter_posts

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpus" / "sample"
ENGINES = {
    "predict": [],
    "predict --n-process 2": ["--n-process", "2"],
    "--engine ray --workers 2": ["--engine", "ray", "--workers", "2", "--cpus-per-worker", "1"],
}


def write_posts(path: Path, count: int) -> float:
    """`count` JSONL posts cycled from the sample's splits; returns the share with an image."""
    posts = [post for split in ("train", "dev", "test") for post in read_twitter_posts(SAMPLE / f"{split}.txt")]
    with_image = 0
    with open(path, "w", encoding="utf8") as out:
        for number in range(count):
            post = posts[number % len(posts)]
            image = SAMPLE / "images" / f"{post.image_id}.jpg"
            image_path = str(image) if image.is_file() else None
            with_image += image_path is not None
            out.write(json.dumps({"id": number, "text": " ".join(post.words), "image": image_path}) + "\n")
    return with_image / count


def measure(command: List[str], env: Dict[str, str]) -> Tuple[float, float]:
    """Wall seconds and peak summed RSS (MiB) of `command` and all its descendants."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        rss = 0
        for member in [root, *root.children(recursive=True)]:
            try:
                rss += member.memory_info().rss
            except psutil.Error:  # ended between the listing and the reading
                pass
        peak = max(peak, rss)
        time.sleep(0.2)
    wall = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed with status {process.returncode}")
    return wall, peak / 2 ** 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="trained pipeline folder")
    parser.add_argument("--posts", type=int, nargs="+", default=[2000, 10000], help="input sizes")
    parser.add_argument("--engines", nargs="+", choices=list(ENGINES), default=list(ENGINES))
    parser.add_argument("--work", type=Path, default=ROOT / "training" / "bench_ray", help="scratch folder")
    args = parser.parse_args()
    env = {name: value for name, value in os.environ.items() if name != "OMP_NUM_THREADS"}
    env.update(RAY_USAGE_STATS_ENABLED="0", OMP_WAIT_POLICY="PASSIVE")  # no spinning threads on shared cores
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"model {args.model}, {psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2 ** 30:.0f} GiB")
    print("| engine | posts | with image | wall s | posts/s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for count in args.posts:
        posts = args.work / f"posts-{count}.jsonl"
        share = write_posts(posts, count)
        for name in args.engines:
            output = args.work / "output"
            shutil.rmtree(output, ignore_errors=True)
            target = output if "ray" in name else output.with_suffix(".jsonl")
            command = [sys.executable, "-m", "spacy_mner", "predict", args.model, str(posts), str(target),
                       *ENGINES[name]]
            wall, peak = measure(command, env)
            print(f"| `{name}` | {count} | {share:.0%} | {wall:.1f} | {count / wall:.1f} | {peak:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
