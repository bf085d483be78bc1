"""The connection limits: read from the environment, counted per client address."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.serving import TIMED_OUT, Admissions
from ledger.settings import ConnectionLimits, load_settings


def environment(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"LEDGER_DATA_DIR": str(tmp_path / "data"), "LEDGER_SIGNING_KEY": "00" * 32, **values}


def test_the_limits_default_to_ten_and_thirty_seconds_and_a_hundred_per_address(
    tmp_path: Path,
) -> None:
    limits = load_settings(environment(tmp_path)).connections
    assert limits == ConnectionLimits(10.0, 30.0, 1000, 100)


def test_the_limits_are_read_from_the_environment(tmp_path: Path) -> None:
    limits = load_settings(
        environment(
            tmp_path,
            LEDGER_HEADER_TIMEOUT_SECONDS="2",
            LEDGER_BODY_TIMEOUT_SECONDS="3.5",
            LEDGER_MAX_CONNECTIONS="50",
            LEDGER_MAX_CONNECTIONS_PER_CLIENT="5",
        )
    ).connections
    assert limits == ConnectionLimits(2.0, 3.5, 50, 5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LEDGER_HEADER_TIMEOUT_SECONDS", "0"),
        ("LEDGER_BODY_TIMEOUT_SECONDS", "soon"),
        ("LEDGER_MAX_CONNECTIONS", "-1"),
        ("LEDGER_MAX_CONNECTIONS_PER_CLIENT", "2.5"),
    ],
)
def test_a_limit_that_is_not_a_positive_number_is_refused(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ValueError, match=name):
        load_settings(environment(tmp_path, **{name: value}))


def test_one_address_is_refused_past_its_cap_while_another_is_admitted() -> None:
    admissions = Admissions(ConnectionLimits(per_client=2, total=10))
    assert admissions.admit("10.0.0.1") is None
    assert admissions.admit("10.0.0.1") is None
    refusal = admissions.admit("10.0.0.1")
    assert refusal is not None and (refusal.status, refusal.code) == (429, "TOO_MANY_CONNECTIONS")
    assert admissions.admit("10.0.0.2") is None
    admissions.release("10.0.0.1")
    assert admissions.admit("10.0.0.1") is None
    assert admissions.total == 3


def test_past_the_total_every_address_is_refused_until_one_leaves() -> None:
    admissions = Admissions(ConnectionLimits(per_client=5, total=2))
    assert admissions.admit("10.0.0.1") is None
    assert admissions.admit("10.0.0.2") is None
    refusal = admissions.admit("10.0.0.3")
    assert refusal is not None and (refusal.status, refusal.code) == (503, "SERVER_BUSY")
    admissions.release("10.0.0.2")
    assert admissions.admit("10.0.0.3") is None
    assert admissions.by_client == {"10.0.0.1": 1, "10.0.0.3": 1}


def test_a_refusal_is_an_http_answer_with_a_graphql_error_in_chinese() -> None:
    head, _, body = TIMED_OUT.response().partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"connection: close" in head
    assert f"content-length: {len(body)}".encode() in head
    [error] = json.loads(body)["errors"]
    assert error["extensions"]["code"] == "REQUEST_TIMEOUT"
    assert "超时" in error["message"]
