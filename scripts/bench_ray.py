"""Throughput and peak memory of `predict` on one machine: one process, `--n-process 2`, and `--engine ray`.

Generates N posts from the bundled sample corpus (its posts with their pictures, about two in five, or
`--image-share` of them with a picture), runs each engine on them as a command of its own, and prints a
Markdown table of wall-clock time, posts/s and peak memory of the command and all its descendants (for
Ray: the driver, GCS, raylet, workers and object store), sampled every 0.5 s. Memory is the summed PSS
(each shared page divided among the processes that map it, so the sum counts it once: the memory the run
holds); the summed RSS, which counts a shared page (libraries, Ray's shared-memory object store) once per
process and so overstates a run of many processes, is printed next to it. Wall time includes loading the
pipeline (and starting Ray). For two sizes or more, the script then prints each engine's steady rate
(N2 - N1) / (t2 - t1), without that fixed cost, and how much its peak PSS grew from the smallest to the
largest size: flat memory is growth near 0%.

    python scripts/bench_ray.py training/sample/cwi/model-best --posts 10000 100000 --image-share 0.05
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import psutil

from spacy_mner.corpus.twitter import read_twitter_posts

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpus" / "sample"
ENGINES = {
    "predict": [],
    "predict --n-process 2": ["--n-process", "2"],
    "--engine ray --workers 2": ["--engine", "ray", "--workers", "2", "--cpus-per-worker", "1"],
}


def write_posts(path: Path, count: int, image_share: Optional[float] = None) -> float:
    """`count` JSONL posts cycled from the sample's splits, each with its own picture where it has one;
    with `image_share`, that share of them are posts with a picture (spread evenly), the others posts
    without. Returns the share with an image."""
    posts = []
    for split in ("train", "dev", "test"):
        for post in read_twitter_posts(SAMPLE / f"{split}.txt"):
            image = SAMPLE / "images" / f"{post.image_id}.jpg"
            posts.append((" ".join(post.words), str(image) if image.is_file() else None))
    pictured, plain = [post for post in posts if post[1]], [post for post in posts if not post[1]]
    with_image = 0
    with open(path, "w", encoding="utf8") as out:
        for number in range(count):
            if image_share is None:
                text, image = posts[number % len(posts)]
            elif int((number + 1) * image_share) > int(number * image_share):
                text, image = pictured[with_image % len(pictured)]
            else:
                text, image = plain[(number - with_image) % len(plain)]
            with_image += image is not None
            out.write(json.dumps({"id": number, "text": text, "image": image}) + "\n")
    return with_image / count


def measure(command: List[str], env: Dict[str, str]) -> Tuple[float, float, float]:
    """Wall seconds, peak summed PSS and peak summed RSS (MiB) of `command` and all its descendants."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root, peak_pss, peak_rss = psutil.Process(process.pid), 0, 0
    while process.poll() is None:
        pss = rss = 0
        for member in [root, *root.children(recursive=True)]:
            try:
                memory = member.memory_full_info()
            except psutil.Error:  # ended between the listing and the reading
                continue
            pss, rss = pss + memory.pss, rss + memory.rss
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        time.sleep(0.5)
    wall = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed with status {process.returncode}")
    return wall, peak_pss / 2 ** 20, peak_rss / 2 ** 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="trained pipeline folder")
    parser.add_argument("--posts", type=int, nargs="+", default=[2000, 10000], help="input sizes")
    parser.add_argument("--image-share", type=float, default=None,
                        help="share of posts with a picture, 0-1 (default: the sample's own, about 0.39)")
    parser.add_argument("--engines", nargs="+", choices=list(ENGINES), default=list(ENGINES))
    parser.add_argument("--work", type=Path, default=ROOT / "training" / "bench_ray", help="scratch folder")
    args = parser.parse_args()
    if args.image_share is not None and not 0.0 <= args.image_share <= 1.0:
        parser.error(f"--image-share must be between 0 and 1, not {args.image_share}")
    env = {name: value for name, value in os.environ.items() if name != "OMP_NUM_THREADS"}
    env.update(RAY_USAGE_STATS_ENABLED="0", OMP_WAIT_POLICY="PASSIVE")  # no spinning threads on shared cores
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"model {args.model}, {psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2 ** 30:.0f} GiB")
    print("| engine | posts | with image | wall s | posts/s | peak PSS MiB | peak RSS sum MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    results: Dict[str, List[Tuple[int, float, float]]] = {name: [] for name in args.engines}
    for count in sorted(args.posts):
        posts = args.work / f"posts-{count}.jsonl"
        share = write_posts(posts, count, args.image_share)
        for name in args.engines:
            output = args.work / "output"
            shutil.rmtree(output, ignore_errors=True)
            target = output if "ray" in name else output.with_suffix(".jsonl")
            command = [sys.executable, "-m", "spacy_mner", "predict", args.model, str(posts), str(target),
                       *ENGINES[name]]
            wall, pss, rss = measure(command, env)
            results[name].append((count, wall, pss))
            print(f"| `{name}` | {count} | {share:.0%} | {wall:.1f} | {count / wall:.1f} | {pss:.0f} | {rss:.0f} |",
                  flush=True)
    if len(args.posts) > 1:
        for name, rows in results.items():
            (small, small_wall, small_pss), (large, large_wall, large_pss) = rows[0], rows[-1]
            steady = (large - small) / (large_wall - small_wall) if large_wall > small_wall else float("nan")
            print(f"{name}: steady {steady:.1f} posts/s; peak PSS {small_pss:.0f} MiB at {small} posts, "
                  f"{large_pss:.0f} MiB at {large} ({(large_pss / small_pss - 1) * 100:+.1f}%)")


if __name__ == "__main__":
    main()
