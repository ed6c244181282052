"""Throughput and latency of `python -m spacy_mner serve` against `nlp.pipe` on the same model and cores.

For each MODEL (name=path), in one run: posts per second of `nlp.pipe` (batch 32) and the median time of
one `nlp(text)` call, both in this process; then a real server in a subprocess, loaded by clients that send
one post per request to `POST /v1/ner` (1, 8 and 32 at once), and clients that send 32 posts per request to
`POST /v1/ner/batch`. Prints p50/p95/p99 latency and posts/s per row, the share of the machine's cores the
load generator and the server took, and the issue's targets: at 32 clients >= 70% of nlp.pipe's posts/s for
MSB and >= 50% for CWI; at 1 client a median latency within 2x of one nlp(text) call.

The posts are the bundled sample corpus's texts (corpus/sample/*.txt), text only unless --images (then
each post's photo goes base64-encoded with it, and the image classifier runs on both sides).
The load generator is a minimal asyncio HTTP/1.1 client on keep-alive connections: a general client such as
httpx spends about a millisecond of CPU per request, which on two shared cores would measure the client.

    python scripts/bench_serve.py cwi=training/sample/cwi/model-best msb=training/sample/msb_crf/model-best

Run it when the machine is otherwise idle (it prints the load average before it starts).
"""
import argparse
import asyncio
import base64
import gc
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import httpx

from spacy_mner.cli.loading import load_pipeline
from spacy_mner.corpus.twitter import read_twitter_posts

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpus" / "sample"
TICKS = os.sysconf("SC_CLK_TCK")


def sample_posts(images: bool) -> List[dict]:
    """The sample corpus's posts as request bodies (`{"text"}`, plus `"image"` with --images)."""
    bodies = []
    for split in ("train", "dev", "test"):
        for post in read_twitter_posts(SAMPLE / f"{split}.txt"):
            body = {"text": " ".join(post.words)}
            photo = SAMPLE / "images" / f"{post.image_id}.jpg"
            if images and photo.is_file():
                body["image"] = base64.b64encode(photo.read_bytes()).decode("ascii")
            bodies.append(body)
    return bodies


def pipe_baseline(model: str, bodies: List[dict], seconds: float) -> Tuple[float, float, float]:
    """(nlp.pipe posts/s at batch 32, its posts per CPU second, median ms of one nlp(text) call), in this
    process."""
    from spacy_mner.serve.tagging import Post, tag  # the server's own path from request to result

    nlp = load_pipeline(model, -1)
    posts = [Post(b["text"], base64.b64decode(b["image"]) if "image" in b else None) for b in bodies]
    warm_until = time.perf_counter() + 2.0  # as long as the server's warm-up load: torch's first calls are slow
    while time.perf_counter() < warm_until:
        tag(nlp, posts[:32])
    done, started, cpu = 0, time.perf_counter(), cpu_seconds()
    while time.perf_counter() - started < seconds:
        for start in range(0, len(posts), 32):
            done += len(tag(nlp, posts[start:start + 32]))
    pipe_rate = done / (time.perf_counter() - started)
    per_cpu = done / (cpu_seconds() - cpu)
    single = []
    for post in posts[:100]:
        begun = time.perf_counter()
        tag(nlp, [post])
        single.append(time.perf_counter() - begun)
    del nlp
    gc.collect()
    return pipe_rate, per_cpu, statistics.median(single) * 1000


class Connection:
    """One keep-alive HTTP/1.1 connection that sends prepared POSTs and reads the responses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> "Connection":
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, request: bytes) -> Tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def prepared(path: str, body) -> bytes:
    data = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode() + data


async def load(port: int, requests: List[bytes], posts_per_request: int, clients: int, seconds: float
               ) -> Tuple[List[float], int, int]:
    """`clients` connections sending `requests` round-robin for `seconds`: (latencies, posts, non-200s)."""
    latencies: List[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def client(number: int) -> None:
        nonlocal errors
        connection = await Connection.open(port)
        try:
            i = number
            while time.perf_counter() < stop:
                begun = time.perf_counter()
                status, _ = await connection.post(requests[i % len(requests)])
                latencies.append(time.perf_counter() - begun)
                errors += status != 200
                i += clients
        finally:
            connection.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies, len(latencies) * posts_per_request, errors


def cpu_seconds(pid: Optional[int] = None) -> float:
    """User + system CPU seconds of this process (pid None) or of process `pid`."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000


def start_server(model: str, port: int, log: Path, options: List[str]) -> subprocess.Popen:
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "spacy_mner", "serve", model, "--port", str(port),
                                    "--max-in-flight", "256", *options], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit(f"the server did not get ready:\n{log.read_text()}")


def bench_model(name: str, model: str, bodies: List[dict], seconds: float, log: Path, options: List[str]
                ) -> List[Dict]:
    pipe_rate, pipe_per_cpu, single_ms = pipe_baseline(model, bodies, seconds)
    print(f"{name}: nlp.pipe {pipe_rate:.1f} posts/s ({pipe_per_cpu:.0f} per CPU second), one nlp(text) "
          f"{single_ms:.2f} ms (median)", flush=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = start_server(model, port, log, options)
    rows = []
    singles = [prepared("/v1/ner", body) for body in bodies]
    batches = [prepared("/v1/ner/batch", (bodies * 2)[i:i + 32]) for i in range(0, len(bodies), 32)]
    runs = [("/v1/ner", 1, singles, 1), ("/v1/ner", 8, singles, 1), ("/v1/ner", 32, singles, 1),
            ("/v1/ner/batch (32 posts)", 2, batches, 32)]
    try:
        asyncio.run(load(port, singles, 1, 8, 2.0))  # warm-up
        for endpoint, clients, requests, per_request in runs:
            wall, own, served = time.perf_counter(), cpu_seconds(), cpu_seconds(server.pid)
            latencies, posts, errors = asyncio.run(load(port, requests, per_request, clients, seconds))
            wall = time.perf_counter() - wall
            cores = os.cpu_count() * wall
            server_cpu = cpu_seconds(server.pid) - served
            rows.append({
                "model": name, "endpoint": endpoint, "clients": clients, "requests": len(latencies), "errors": errors,
                "p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
                "posts_s": posts / wall, "of_pipe": posts / wall / pipe_rate,
                "client_cpu": (cpu_seconds() - own) / cores, "server_cpu": server_cpu / cores,
                "of_pipe_cpu": posts / server_cpu / pipe_per_cpu, "pipe_rate": pipe_rate, "single_ms": single_ms,
            })
            print(format_row(rows[-1]), flush=True)
    finally:
        server.terminate()
        server.wait(120)
    return rows


HEADER = ("| model | endpoint | clients | requests | p50 ms | p95 ms | p99 ms | posts/s | of nlp.pipe | "
          "load generator CPU | server CPU | of nlp.pipe per CPU s |\n|---|---|---|---|---|---|---|---|---|---|---|---|")


def format_row(row: Dict) -> str:
    return (f"| {row['model']} | {row['endpoint']} | {row['clients']} | {row['requests']} | {row['p50']:.1f} | "
            f"{row['p95']:.1f} | {row['p99']:.1f} | {row['posts_s']:.1f} | {row['of_pipe']:.0%} | "
            f"{row['client_cpu']:.0%} | {row['server_cpu']:.0%} | {row['of_pipe_cpu']:.0%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="name=path of a trained pipeline (name cwi* or msb* sets the target)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each timed run")
    parser.add_argument("--images", action="store_true", help="send each post's sample photo with it")
    parser.add_argument("--log", type=Path, default=Path("training/bench_serve.log"), help="the servers' log")
    parser.add_argument("--serve-options", default="", help="more `serve` options, e.g. '--max-wait-ms 0'")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}")
    bodies = sample_posts(args.images)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for spec in args.models:
        name, _, path = spec.partition("=")
        rows += bench_model(name, path, bodies, args.seconds, args.log, args.serve_options.split())
    print(f"\n{len(bodies)} sample posts{' with their photos' if args.images else ', text only'}; "
          f"CPU = share of all {os.cpu_count()} cores over the run; per CPU s: posts per CPU second of the server "
          f"against those of nlp.pipe (the fair measure when other processes share the cores)\n")
    print(HEADER)
    for row in rows:
        print(format_row(row))
    print()
    for name in dict.fromkeys(row["model"] for row in rows):
        mine = [row for row in rows if row["model"] == name]
        at32 = next(row for row in mine if row["clients"] == 32)
        at1 = next(row for row in mine if row["clients"] == 1)
        target = 0.7 if name.lower().startswith("msb") else 0.5
        print(f"{name}: 32 clients reach {at32['of_pipe']:.0%} of nlp.pipe ({at32['pipe_rate']:.1f} posts/s; target "
              f">= {target:.0%}: {'met' if at32['of_pipe'] >= target else 'MISSED'}); 1 client p50 {at1['p50']:.1f} ms "
              f"= {at1['p50'] / at1['single_ms']:.2f}x one nlp(text) ({at1['single_ms']:.2f} ms; target <= 2x: "
              f"{'met' if at1['p50'] <= 2 * at1['single_ms'] else 'MISSED'})")


if __name__ == "__main__":
    main()
