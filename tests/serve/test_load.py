"""The server under load and faults: concurrent clients, flat memory, a slow client, a burst above the
in-flight cap, SIGTERM under load. Loopback only; every loop is bounded in count and time."""
import asyncio
import base64
import json
import re
import select
import signal
import socket
import time
from typing import List, Optional, Tuple

import httpx

from servers import LIMITS, post_json

MiB = 1024 * 1024


async def clients(url: str, count: int, requests: int, bodies: List[dict], path: str = "/v1/ner",
                  stop_at: Optional[float] = None) -> List[Tuple[float, float, object]]:
    """`count` concurrent clients, each sending up to `requests` requests (cycling through `bodies`);
    `(start, end, status code or exception)` for each. With `stop_at` (a monotonic time) a client also stops
    there, and at its first transport error."""
    outcomes: List[Tuple[float, float, object]] = []

    async def client(number: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            for i in range(requests):
                if stop_at is not None and time.monotonic() > stop_at:
                    return
                body = bodies[(number + i) % len(bodies)]
                start = time.monotonic()
                try:
                    response = await http.post(path, json=body)
                except httpx.TransportError as error:
                    outcomes.append((start, time.monotonic(), error))
                    return
                outcomes.append((start, time.monotonic(), response.status_code))
                if response.status_code == 200:
                    assert response.json() is not None

    await asyncio.gather(*(client(n) for n in range(count)))
    return outcomes


def test_concurrent_clients_all_answered_and_memory_flat(server, cat_jpeg):
    """8 clients x 275 requests (one in 20 with a photo): all answered 200; the server's memory, measured
    after every 400 once warm, stays within 40 MiB (it wanders by about 15 MiB with the images' buffers)."""
    cat = base64.b64encode(cat_jpeg).decode()
    bodies = [{"text": f"Obama visits Paris with Ana number {i}"} for i in range(19)]
    bodies.append({"text": "Chelsea the cat in Florida", "image": cat})
    clients_at_once = LIMITS["--max-in-flight"]
    outcomes = asyncio.run(clients(server.url, clients_at_once, 25, bodies))  # warm-up
    warm = server.rss_bytes()
    rss = []
    for _ in range(5):
        outcomes += asyncio.run(clients(server.url, clients_at_once, 50, bodies))
        rss.append(server.rss_bytes())
    statuses = [status for _, _, status in outcomes]
    assert len(statuses) == clients_at_once * 275 and set(statuses) == {200}
    series = ", ".join(f"{value / MiB:.0f}" for value in [warm] + rss)
    assert max(rss) - warm < 40 * MiB, f"the server's memory grew: {series} MiB"
    info = httpx.get(f"{server.url}/v1/info").json()
    assert info["batches"] < info["admissions"]["answered"]  # posts that arrived together ran together


def read_reply(sock: socket.socket) -> str:
    """One whole HTTP response from `sock` (its headers, then Content-Length bytes of body)."""
    reply = b""
    for _ in range(1000):  # bounded; the socket's timeout bounds each read
        head, _, body = reply.partition(b"\r\n\r\n")
        length = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
        if length and len(body) >= int(length.group(1)):
            break
        chunk = sock.recv(65536)
        if not chunk:
            break
        reply += chunk
    return reply.decode("utf8", errors="replace")


def test_slow_client_gets_408_and_blocks_no_one(server):
    body = json.dumps({"text": "Obama visits Paris"}).encode()
    head = (f"POST /v1/ner HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        started = time.monotonic()
        for i, byte in enumerate(body[:-1]):  # one byte every 0.25 s, never the last one
            if i == 2:  # meanwhile, others are served as usual
                assert post_json(f"{server.url}/v1/ner", {"text": "Obama"}, timeout=5).status_code == 200
            readable, _, _ = select.select([sock], [], [], 0.25)
            if readable:
                break
            sock.sendall(bytes([byte]))
        reply = read_reply(sock)
        waited = time.monotonic() - started
    assert reply.startswith("HTTP/1.1 408"), reply
    assert f"did not arrive within {LIMITS['--read-timeout']} s" in reply
    assert LIMITS["--read-timeout"] - 0.1 <= waited < LIMITS["--read-timeout"] + 3


def test_burst_above_the_in_flight_cap_then_recovery(server):
    """Hold every slot with bodies half sent, burst: 503 + Retry-After; finish the bodies: all answered."""
    cap = LIMITS["--max-in-flight"]
    body = json.dumps({"text": "Obama visits Paris"}).encode()
    head = (f"POST /v1/ner HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(cap)]
    try:
        for sock in held:
            sock.sendall(head + body[:5])
        for _ in range(100):  # bounded: until the server has admitted them all
            if httpx.get(f"{server.url}/v1/info").json()["admissions"]["in_flight"] == cap:
                break
            time.sleep(0.01)
        burst = asyncio.run(clients(server.url, 2 * cap, 1, [{"text": "Paris"}]))
        assert [status for _, _, status in burst] == [503] * (2 * cap)
        refused = post_json(f"{server.url}/v1/ner", {"text": "Paris"})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert f"the limit is {cap}" in refused.json()["detail"]
        for sock in held:
            sock.sendall(body[5:])
        replies = [read_reply(sock) for sock in held]
    finally:
        for sock in held:
            sock.close()
    assert all(reply.startswith("HTTP/1.1 200") and '"Obama"' in reply for reply in replies), replies
    recovered = asyncio.run(clients(server.url, cap, 3, [{"text": "Paris"}]))
    assert [status for _, _, status in recovered] == [200] * (3 * cap)


def test_sigterm_under_load_loses_nothing(launched):
    """SIGTERM while 8 clients send: requests in flight are answered, new ones refused, none lost."""
    server = launched["spare"].ready()
    # long posts: each request takes longer than the 0.1 s uvicorn gives connections before it waits for them
    long_post = " ".join(["Obama visits Paris with Ana at the World Cup"] * 30)
    bodies = [[{"text": f"{long_post} {i}"}] * 8 for i in range(4)]
    signal_at = time.monotonic() + 1.5

    async def load_then_sigterm() -> List[Tuple[float, float, object]]:
        asyncio.get_running_loop().call_at(signal_at, server.process.send_signal, signal.SIGTERM)
        return await clients(server.url, 8, 400, bodies, path="/v1/ner/batch", stop_at=signal_at + 30)

    # asyncio's loop clock is time.monotonic, so call_at(signal_at) fires at the same instant
    outcomes = asyncio.run(load_then_sigterm())
    # uvicorn shuts down gracefully, then re-raises the signal so that the exit status says what ended it
    assert server.process.wait(60) in (0, -signal.SIGTERM)
    assert "Finished server process" in server.log_text()
    answered = [(s, e) for s, e, status in outcomes if status == 200]
    failures = [(s, status) for s, _, status in outcomes if status != 200]
    assert all(isinstance(status, httpx.TransportError) for _, status in failures), failures  # no 5xx
    assert all(start >= signal_at - 0.05 for start, _ in failures)  # refused only once told to stop
    assert sum(s < signal_at < e for s, e in answered) >= 1  # requests were in flight, and were answered
    log = server.log_text()
    counts = re.search(r"model requests: (\d+) admitted, (\d+) answered, (\d+) refused", log)
    assert counts, log
    admitted, served, refused = map(int, counts.groups())
    assert admitted == served == len(answered) and refused == 0
