"""nginx in front of the API (docker-compose.yml, docker/nginx.conf): its bounds are read
from its configuration and held against the API's own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from api.boundary import MAX_BODY_BYTES
from api.serving import KEEP_ALIVE_SECONDS
from ledger.settings import ConnectionLimits

ROOT = Path(__file__).resolve().parents[2]
CONF = (ROOT / "docker" / "nginx.conf").read_text()
DIRECTIVE = re.compile(r"^\s*([a-z_]+)\s+([^;{}'\n]*);", re.MULTILINE)
RETURN = re.compile(r"^\s*return\s+(\d+)\s+'([^']*)';", re.MULTILINE)


def directives(name: str) -> list[str]:
    text = re.sub(r"#.*", "", CONF)
    return [value.strip() for key, value in DIRECTIVE.findall(text) if key == name]


def one(name: str) -> str:
    [value] = directives(name)
    return value


def seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(s|m)?", value).groups()  # type: ignore[union-attr]
    return float(number) * (60 if unit == "m" else 1)


def test_compose_puts_nginx_in_front_of_the_api() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    nginx = services["nginx"]
    assert nginx["image"].startswith("nginx:")
    assert "./docker/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert nginx["depends_on"]["api"]["condition"] == "service_healthy"
    [published] = nginx["ports"]
    assert published.endswith(":" + one("listen"))
    api_port = services["api"]["command"][services["api"]["command"].index("--port") + 1]
    assert re.search(rf"^\s*server api:{api_port}\b", CONF, re.MULTILINE)


def test_nginx_bounds_time_and_size_within_the_apis_bounds() -> None:
    limits = ConnectionLimits()
    assert seconds(one("client_header_timeout")) <= limits.header_seconds
    assert seconds(one("client_body_timeout")) <= limits.body_seconds
    assert seconds(one("keepalive_timeout")) <= KEEP_ALIVE_SECONDS
    assert seconds(one("send_timeout")) > 0
    assert int(one("client_max_body_size")) == MAX_BODY_BYTES
    assert one("proxy_request_buffering") == "on"  # the API sees whole bodies only
    assert one("reset_timedout_connection") == "on"


def test_nginx_caps_connections_per_address_and_stays_within_the_apis_cap_for_it() -> None:
    per_client = ConnectionLimits().per_client
    [zone] = directives("limit_conn_zone")
    key, name = zone.split()[0], zone.split()[1].removeprefix("zone=").split(":")[0]
    assert key == "$binary_remote_addr"
    zone_name, cap = one("limit_conn").split()
    assert zone_name == name
    assert 0 < int(cap) <= per_client
    assert one("limit_conn_status") == "429"
    # To the API nginx is one client address: its connections to the API, active (shared
    # by the workers through the upstream's zone) and idle (kept per worker), stay within
    # the API's cap for one address.
    max_conns = re.search(r"^\s*server api:\d+ max_conns=(\d+);", CONF, re.MULTILINE)
    assert max_conns is not None
    assert re.search(r"^\s*zone ledger \d+k;", CONF, re.MULTILINE)  # one count for all workers
    workers, idle = int(one("worker_processes")), int(one("keepalive"))
    assert 0 < int(max_conns.group(1)) + workers * idle <= per_client


def test_nginx_refusals_are_in_the_apis_error_shape_with_a_code() -> None:
    answers = dict(RETURN.findall(CONF))
    assert set(answers) == {"413", "429", "503"}
    for status, body in answers.items():
        [error] = json.loads(body)["errors"]
        assert re.fullmatch(r"[A-Z_]+", error["extensions"]["code"]), status
        assert re.search(r"[\u4e00-\u9fff]", error["message"]), status
    pages = " ".join(directives("error_page"))
    for status in ("413", "429", "502", "503", "504"):
        assert status in pages
