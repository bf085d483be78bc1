"""A real server: ``ledger serve`` in a subprocess on a free port, over a fresh database."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth import create_token
from ledger.domain.values import Role


@dataclass
class Server:
    base: str
    database_url: str
    admin: str
    log: Path

    def token(self, role: Role, *scope: Any) -> str:
        return create_token(self.database_url, role, list(scope), f"test {role.value}")[1]

    def gql(self, token: str | None, query: str, **variables: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(
            f"{self.base}/graphql",
            json={"query": query, "variables": variables},
            headers=headers,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(
    database_url: str, workdir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """``ledger serve`` with ``args`` (and ``env`` added to the environment) in a
    subprocess; stopped by SIGTERM, which must end it cleanly."""
    port = free_port()
    env = {
        **os.environ,
        **(env or {}),
        "DATABASE_URL": database_url,
        "LEDGER_DATA_DIR": str(workdir / "data"),
    }
    log = workdir / f"server-{port}.log"
    with (
        log.open("w") as out,
        subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        ) as process,
    ):
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        admin = create_token(database_url, Role.ADMIN, [], "test admin")[1]
        try:
            yield Server(base, database_url, admin, log)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, log.read_text()


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(database_url, tmp_path_factory.mktemp("server")) as running:
        yield running
