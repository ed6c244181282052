"""Real `python -m spacy_mner serve` processes on free loopback ports, and the data the serve tests send."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List

import httpx

POSTS = [
    (["Obama", "visits", "Paris", "today"], ["B-PER", "O", "B-LOC", "O"]),
    (["@NASA", "launches", "from", "Florida", "!"], ["B-ORG", "O", "O", "B-LOC", "O"]),
    (["Watching", "the", "World", "Cup", "with", "Ana"], ["O", "O", "B-OTHER", "I-OTHER", "O", "B-PER"]),
]
CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}
# the limits of the shared server: small, so each can be hit cheaply
LIMITS = {"--max-body-bytes": 2_000_000, "--max-text-chars": 2000, "--max-batch-posts": 8, "--max-in-flight": 8,
          "--read-timeout": 5, "--request-timeout": 30, "--max-form-fields": 16}
# the servers the tests use, started together (their start-up is mostly imports: in parallel it costs one)
SERVERS = {
    "shared": [str(part) for pair in LIMITS.items() for part in pair],
    "slow": ["--request-timeout", "0.05", "--max-text-chars", "100000"],  # for the 504
    "spare": [],  # for SIGTERM under load
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running `serve` process: its base URL, port, process and log file."""

    url: str
    port: int
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf8", errors="replace")

    def rss_bytes(self) -> int:
        """The server process's resident memory, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc status")

    def ready(self, within: float = 180) -> "Server":
        """This server, once /readyz says it is warmed up (bounded wait; fails with its log)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"the server was not ready within {within} s:\n{self.log_text()}")

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"the server did not stop within {timeout} s:\n{self.log_text()}")


def launch(model: Path, log: Path, options: List[str]) -> Server:
    """Start `serve MODEL OPTIONS` on a free port (without waiting: see `Server.ready`)."""
    port = free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "spacy_mner", "serve", str(model), "--port", str(port),
                                    *options], stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
    return Server(f"http://127.0.0.1:{port}", port, process, log)


def post_json(url: str, body, timeout: float = 30) -> httpx.Response:
    return httpx.post(url, content=json.dumps(body), headers={"content-type": "application/json"}, timeout=timeout)
