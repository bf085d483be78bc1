"""GraphiQL is served from the app's own files and works with the internet cut off; with a
token it loads the schema (its Docs pane, its autocomplete) and its example answers on the
demo street."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query
from selenium.webdriver.common.by import By

from entrypoints.bootstrap import bootstrap
from entrypoints.demo import prepare_demo
from ledger.domain.values import CST
from ledger.settings import load_settings
from ledger.simulation import Scale
from tests.e2e.browser import chromium, requested_hosts, screenshot
from tests.e2e.conftest import Server, running_server

DEMO = Scale(communities=2, grids=1, units=4, party_members=40, residents=5, days=5)


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``ledger serve`` over the demo street (its last few days, up to today)."""
    workdir = tmp_path_factory.mktemp("server")
    settings = load_settings(
        {"DATABASE_URL": database_url, "LEDGER_DATA_DIR": str(workdir / "data")}
    )
    with bootstrap(settings) as services:
        prepare_demo(services, "http://127.0.0.1", scale=DEMO)
    with running_server(database_url, workdir) as running:
        yield running


def wait_for(check: Callable[[], Any], what: Callable[[], str], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, what()
        time.sleep(0.2)
    return found


def test_graphiql_renders_offline_and_asks_no_other_host(server: Server) -> None:
    with chromium() as driver:
        driver.get(f"{server.base}/graphql")
        deadline = time.monotonic() + 20
        while not driver.find_elements(By.CSS_SELECTOR, ".graphiql-container"):
            assert time.monotonic() < deadline, driver.page_source[:500]
            time.sleep(0.2)
        assert "Headers" in driver.page_source or "headers" in driver.page_source
        assert "请在下方 Headers 中填入" in driver.find_element(By.ID, "hint").text
        while "需要令牌" not in driver.page_source:  # its first call, without a token
            assert time.monotonic() < deadline, driver.page_source[-2000:]
            time.sleep(0.2)
        shot = screenshot(driver, "graphiql", readable=False)
        hosts = requested_hosts(driver)
    assert shot.stat().st_size > 10_000
    assert hosts == {"127.0.0.1"}, hosts


def test_the_401_answer_is_graphql_json_the_page_can_read(server: Server) -> None:
    answer = httpx.post(f"{server.base}/graphql", json={"query": "{ __typename }"}, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["errors"][0]["message"].startswith("需要令牌")


def test_the_standard_introspection_query_is_answered_to_a_token(server: Server) -> None:
    answer = server.gql(server.admin, get_introspection_query(input_value_deprecation=True))
    assert "errors" not in answer, answer["errors"]
    assert answer["data"]["__schema"]["queryType"]["name"] == "Query"
    tokenless = httpx.post(
        f"{server.base}/graphql", json={"query": get_introspection_query()}, timeout=10
    )
    assert tokenless.status_code == 401


STORED_HEADERS = "return localStorage.getItem('graphiql:headers')"


def editor_text(driver: Any, selector: str) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, f"{selector} .CodeMirror")
    return str(driver.execute_script("return arguments[0].CodeMirror.getValue()", found[0]))


def click(driver: Any, selector: str) -> None:
    driver.execute_script("arguments[0].click()", driver.find_element(By.CSS_SELECTOR, selector))


def test_with_a_token_graphiql_shows_the_schema_and_its_example_answers(server: Server) -> None:
    with chromium() as driver:
        driver.get(f"{server.base}/graphql")
        wait_for(
            lambda: driver.find_elements(By.CSS_SELECTOR, ".graphiql-editor-tool .CodeMirror"),
            lambda: driver.page_source[:500],
        )
        example = editor_text(driver, ".graphiql-query-editor")
        yesterday = datetime.now(CST).date() - timedelta(days=1)
        assert f'unitRanking(period: "{yesterday.year}"' in example
        # Its first fetch of the schema, without a token, is answered 401.
        wait_for(lambda: "需要令牌" in driver.page_source, lambda: driver.page_source[-2000:])
        headers = driver.find_element(
            By.CSS_SELECTOR, ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
        )
        driver.execute_script(  # as a user types the token into the Headers pane
            "arguments[0].CodeMirror.setValue(arguments[1])",
            headers,
            json.dumps({"Authorization": f"Bearer {server.admin}"}),
        )
        wait_for(  # the page has taken the token in
            lambda: server.admin in (driver.execute_script(STORED_HEADERS) or ""),
            lambda: str(driver.execute_script(STORED_HEADERS)),
        )
        click(driver, "button[aria-label='Re-fetch GraphQL schema']")
        click(driver, "button[aria-label='Show Documentation Explorer']")
        docs = lambda: driver.find_element(By.CSS_SELECTOR, ".graphiql-doc-explorer").text  # noqa: E731
        wait_for(lambda: "query: Query" in docs(), docs)
        assert "Error fetching schema" not in docs()
        click(driver, ".graphiql-execute-button")
        answer = wait_for(
            lambda: '"data"' in (text := editor_text(driver, ".graphiql-response")) and text,
            lambda: editor_text(driver, ".graphiql-response"),
        )
        shot = screenshot(driver, "graphiql-docs", readable=False)
    ranking = json.loads(answer)["data"]["unitRanking"]
    assert ranking and ranking[0]["rank"] == 1 and ranking[0]["name"].startswith("单位")
    assert shot.stat().st_size > 10_000
