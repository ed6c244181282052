"""The admission middleware: enforces the limits (see `limits.py`) that the ASGI stack lacks.

The request schemas cap text length and batch size, and FastAPI caps multipart forms (`create_app` passes the
form limits). uvicorn neither caps bodies nor times out slow clients (it has no deadline for reading a
request, and its `--limit-concurrency` refuses at once, with no queue); FastAPI's own `max_body_size` answers
in plain text. `AdmissionMiddleware` therefore answers 413 for a body over `max_body_bytes` (at once when the
Content-Length says so, else as soon as the bytes read pass it), 503 with Retry-After while `max_in_flight`
model requests are being handled, and 408 when a body has not arrived within `read_timeout` seconds, so a
client that trickles its body cannot hold a slot for long. All its answers are JSON `{"detail": ...}`.
"""
import asyncio
import json
import time
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MODEL_PATHS = "/v1/ner"  # the prefix of the endpoints that run the model (and are admitted one by one)


@dataclass
class Admissions:
    """What `AdmissionMiddleware` has done with the model requests so far (`/v1/info`, the shutdown log)."""

    in_flight: int = 0
    admitted: int = 0  # let in
    answered: int = 0  # of those, sent a complete response
    refused: int = 0  # answered 503 at the in-flight cap


class AdmissionMiddleware:
    """Admits at most `max_in_flight` requests to the model endpoints at once, gives each `read_timeout`
    seconds to deliver its body, and caps every body at `max_body_bytes`; counts into `admissions`."""

    def __init__(self, app: ASGIApp, max_in_flight: int, read_timeout: float, max_body_bytes: int,
                 admissions: Admissions, retry_after: int = 1) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.max_body_bytes = max_body_bytes
        self.read_timeout = read_timeout
        self.retry_after = retry_after
        self.counts = admissions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"the request body is larger than the limit of {self.max_body_bytes} bytes"
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await _send_json(send, 413, too_large, [(b"connection", b"close")])
            return
        if not scope["path"].startswith(MODEL_PATHS):
            await self.app(scope, receive, send)
            return
        counts = self.counts
        if counts.in_flight >= self.max_in_flight:
            counts.refused += 1
            await _send_json(send, 503, f"{counts.in_flight} requests in flight, the limit is {self.max_in_flight}; "
                             f"retry after {self.retry_after} s", [(b"retry-after", str(self.retry_after).encode())])
            return
        counts.in_flight += 1
        counts.admitted += 1
        deadline = time.monotonic() + self.read_timeout
        body_done = False
        size = 0

        async def receive_before_deadline() -> Message:
            nonlocal body_done, size
            if body_done:  # e.g. waiting for a disconnect: no deadline
                return await receive()
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise asyncio.TimeoutError
                message = await asyncio.wait_for(receive(), remaining)
            except asyncio.TimeoutError:
                raise HTTPException(408, f"the request body did not arrive within {self.read_timeout:g} s") from None
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                raise HTTPException(413, too_large)
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def send_counted(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                counts.answered += 1

        try:
            await self.app(scope, receive_before_deadline, send_counted)
        finally:
            counts.in_flight -= 1


async def _send_json(send: Send, status: int, detail: str, headers: list) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})
