"""A loopback HTTP server for the adapters' fakes: a real socket on 127.0.0.1, a thread per request.

A fake subclasses `LoopbackFake` and implements `answer(request)` in the vendor's documented
request and response shapes. Tests steer it with `misbehave(...)`: fail with a status and body,
stall past the client's timeout, or do the work and then drop the connection without answering
(the provider has acted; the client never hears it) - the failures exactly-once must survive.
"""

from __future__ import annotations

import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qs, urlsplit

Mode = Literal["fail", "stall", "drop_after", "stall_after"]


@dataclass(frozen=True, slots=True)
class FakeRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lowercased names
    body: bytes


@dataclass(frozen=True, slots=True)
class FakeResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


@dataclass(frozen=True, slots=True)
class Misbehaviour:
    mode: Mode
    status: int = 500
    body: bytes = b""
    seconds: float = 0.0


class _QuietServer(ThreadingHTTPServer):
    block_on_close = False  # a stalled answer must not hold the test's teardown

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (a timeout test) closes its end while the fake still writes: expected.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class LoopbackFake(ABC):
    """Serve `answer` on 127.0.0.1:<free port> until `close()`; `url` is the base to give a client."""

    def __init__(self) -> None:
        self.requests: list[FakeRequest] = []
        self._plans: deque[Misbehaviour] = deque()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this each answer waits ~40 ms for
            # a delayed acknowledgement.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:  # quiet in tests
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = FakeRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with fake.lock:
                    fake.requests.append(request)
                    plan = fake._plans.popleft() if fake._plans else None
                if plan is not None and plan.mode == "fail":
                    self._write(FakeResponse(plan.status, plan.body))
                    return
                if plan is not None and plan.mode == "stall":
                    time.sleep(plan.seconds)
                    self.close_connection = True
                    return
                response = fake.answer(request)
                if plan is not None and plan.mode == "drop_after":
                    self.close_connection = True
                    return
                if plan is not None and plan.mode == "stall_after":
                    time.sleep(plan.seconds)
                self._write(response)

            def _write(self, response: FakeResponse) -> None:
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def misbehave(
        self, mode: Mode, *, times: int = 1, status: int = 500, body: bytes = b"", seconds: float = 0.0
    ) -> None:
        """The next `times` requests misbehave so, then the fake answers normally again."""
        with self.lock:
            self._plans.extend(Misbehaviour(mode, status, body, seconds) for _ in range(times))

    @abstractmethod
    def answer(self, request: FakeRequest) -> FakeResponse:
        """The vendor's answer to one request (the fake's own logic)."""

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
