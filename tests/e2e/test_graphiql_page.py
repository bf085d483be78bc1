"""GraphiQL is served from the app's own files and works with the internet cut off."""

from __future__ import annotations

import time

import httpx
from selenium.webdriver.common.by import By

from tests.e2e.browser import chromium, requested_hosts, screenshot
from tests.e2e.conftest import Server


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
        shot = screenshot(driver, "graphiql")
        hosts = requested_hosts(driver)
    assert shot.stat().st_size > 10_000
    assert hosts == {"127.0.0.1"}, hosts


def test_the_401_answer_is_graphql_json_the_page_can_read(server: Server) -> None:
    answer = httpx.post(f"{server.base}/graphql", json={"query": "{ __typename }"}, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["errors"][0]["message"].startswith("需要令牌")
