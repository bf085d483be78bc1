"""Nobody can lock the server out: floods of idle or slow connections from one address
leave health probes and other clients answered, and each flooding connection is
refused or closed within its bound.

The server runs with short bounds (set through the environment) so that the floods
last seconds.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from api.serving import REFUSAL_SECONDS
from ledger.domain.values import Role
from tests.e2e.conftest import Server, running_server

HEADER_SECONDS = 2.0
BODY_SECONDS = 3.0
PER_CLIENT = 100
SLACK = 3.0
"""Beyond a stated bound: a loaded test machine's scheduling."""
FLOOD_SECONDS = 7.0
LIMITS = {
    "LEDGER_HEADER_TIMEOUT_SECONDS": str(HEADER_SECONDS),
    "LEDGER_BODY_TIMEOUT_SECONDS": str(BODY_SECONDS),
    "LEDGER_MAX_CONNECTIONS_PER_CLIENT": str(PER_CLIENT),
}


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("availability")
    with running_server(database_url, workdir, env=LIMITS) as running:
        yield running


@dataclass
class Ended:
    """A flooding connection as its client saw it end."""

    seconds: float
    answer: bytes


@dataclass
class Flood:
    """``size`` connections from 127.0.0.1 that send ``opening`` and then one byte of
    ``trickle`` a second (if any); each one that ends is opened again."""

    server: Server
    size: int
    opening: bytes = b""
    trickle: bytes = b""
    ended: list[Ended] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        parts = urlsplit(self.server.base)
        address = (parts.hostname or "", parts.port or 80)
        selector = selectors.DefaultSelector()
        opened: dict[socket.socket, tuple[float, bytearray]] = {}

        def open_one() -> None:
            sock = socket.create_connection(address, timeout=5)
            if self.opening:
                sock.sendall(self.opening)
            sock.setblocking(False)
            opened[sock] = (time.monotonic(), bytearray())
            selector.register(sock, selectors.EVENT_READ)

        def end(sock: socket.socket) -> None:
            started, answer = opened.pop(sock)
            selector.unregister(sock)
            sock.close()
            self.ended.append(Ended(time.monotonic() - started, bytes(answer)))

        for _ in range(self.size):
            open_one()
        trickled = time.monotonic()
        while not self.stop.is_set():
            for key, _ in selector.select(timeout=0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if data:
                    opened[sock][1].extend(data)
                else:
                    end(sock)
                    open_one()
            if self.trickle and time.monotonic() - trickled >= 1:
                trickled = time.monotonic()
                for sock in list(opened):
                    with contextlib.suppress(OSError):  # closed: the selector hears of it
                        sock.send(self.trickle)
        for sock in list(opened):
            selector.unregister(sock)
            sock.close()


def probe(server: Server, token: str) -> None:
    """/healthz and /readyz from the flooding address, /graphql from another one."""
    for path in ("/healthz", "/readyz"):
        answer = httpx.get(f"{server.base}{path}", timeout=5)
        assert answer.status_code == 200, (path, answer.status_code, answer.text)
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as other:
        answer = other.post(
            f"{server.base}/graphql",
            json={"query": "{ __typename }"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"data": {"__typename": "Query"}}


def flooded(server: Server, flood: Flood) -> list[Ended]:
    """Run the flood for ``FLOOD_SECONDS`` while probing twice a second."""
    token = server.token(Role.AUDITOR)
    flooding = threading.Thread(target=flood.run)
    flooding.start()
    try:
        time.sleep(0.5)  # the flood is open
        probes = 0
        until = time.monotonic() + FLOOD_SECONDS
        while time.monotonic() < until:
            probe(server, token)
            probes += 1
            time.sleep(0.5)
        assert probes >= 5
    finally:
        flood.stop.set()
        flooding.join()
    return flood.ended


def status(ended: Ended) -> bytes:
    return ended.answer.split(b"\r\n", 1)[0]


def test_a_thousand_idle_connections_from_one_address_stop_no_one(server: Server) -> None:
    ended = flooded(server, Flood(server, 1000))
    timed_out = [e for e in ended if status(e) == b"HTTP/1.1 408 Request Timeout"]
    refused = [e for e in ended if status(e) == b"HTTP/1.1 429 Too Many Requests"]
    assert len(timed_out) + len(refused) == len(ended), {status(e) for e in ended}
    assert timed_out and refused
    assert all(b'"code": "REQUEST_TIMEOUT"' in e.answer for e in timed_out)
    assert all(b'"code": "TOO_MANY_CONNECTIONS"' in e.answer for e in refused)
    assert "来自同一地址的连接过多".encode() in refused[0].answer
    assert max(e.seconds for e in timed_out) < HEADER_SECONDS + SLACK
    assert max(e.seconds for e in refused) < REFUSAL_SECONDS + SLACK


def test_three_hundred_slow_bodies_with_a_valid_token_stop_no_one(server: Server) -> None:
    token = server.token(Role.AUDITOR)
    opening = (
        b"POST /graphql HTTP/1.1\r\nHost: ledger\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: 1000\r\n\r\n{"
    )
    logged = len(server.log.read_text())
    ended = flooded(server, Flood(server, 300, opening, trickle=b" "))
    # A refused connection may be reset rather than answered if its next byte arrives
    # after the server closed it: it ended all the same.
    answered = [e for e in ended if e.answer]
    timed_out = [e for e in answered if status(e) == b"HTTP/1.1 408 Request Timeout"]
    refused = [e for e in answered if status(e) == b"HTTP/1.1 429 Too Many Requests"]
    assert len(timed_out) + len(refused) == len(answered), {status(e) for e in answered}
    assert timed_out and refused
    assert all(b'"code": "REQUEST_TIMEOUT"' in e.answer for e in timed_out)
    assert all(b'"code": "TOO_MANY_CONNECTIONS"' in e.answer for e in refused)
    assert max(e.seconds for e in timed_out) < BODY_SECONDS + SLACK
    assert max(e.seconds for e in ended) < BODY_SECONDS + SLACK
    log = server.log.read_text()[logged:]  # the server knows why a client was cut off
    assert "request refused code=REQUEST_TIMEOUT" in log
    assert "Traceback" not in log and '"level": "ERROR"' not in log


def test_a_websocket_without_a_valid_token_is_closed_with_a_code_and_one_log_line(
    server: Server,
) -> None:
    url = server.base.replace("http", "ws") + "/graphql"
    logged = len(server.log.read_text())
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {}):
        with (
            connect(url, subprotocols=["graphql-transport-ws"], additional_headers=headers) as ws,  # type: ignore[list-item]
            pytest.raises(ConnectionClosed) as closed,
        ):
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401
        assert closed.value.rcvd.reason == "需要有效令牌"
    deadline = time.monotonic() + 5
    while (log := server.log.read_text()[logged:]).count("websocket refused") < 3:
        assert time.monotonic() < deadline, log
        time.sleep(0.1)
    lines = [line for line in log.splitlines() if "websocket" in line.lower()]
    assert len(lines) == 3, lines
    assert all('"level": "INFO"' in line and "UNAUTHENTICATED" in line for line in lines)
    assert "Traceback" not in log and '"level": "ERROR"' not in log
