"""The kiosk code on the member's phone pages (/me, 积分 tab) in a real headless browser: the
short-lived code is shown as a QR code a kiosk's scanner reads, and that code finds the member
at the kiosk."""

from __future__ import annotations

import subprocess
import time
from decimal import Decimal
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from api.auth import create_token
from ledger.domain.codes import PHONE_CODE_SECONDS
from ledger.domain.values import Role
from tests.e2e.browser import chromium, phone, requested_hosts, require, screenshot
from tests.e2e.conftest import Server
from tests.e2e.test_member_codes import ISSUE, LOOKUP, created


@pytest.fixture(scope="module")
def resident(server: Server) -> dict[str, str]:
    street = created(
        server, 'mutation { registerStreet(name: "手机街道") { __typename ... on Receipt { id } } }'
    )
    community = created(
        server,
        """mutation($s: UUID!) { registerCommunity(streetId: $s, name: "手机社区") {
        __typename ... on Receipt { id } } }""",
        s=street,
    )
    member = created(
        server,
        """mutation($c: UUID!) { registerMember(kind: RESIDENT, name: "李四娘", communityId: $c) {
        __typename ... on Receipt { id } } }""",
        c=community,
    )
    issued = server.gql(server.admin, ISSUE, m=member)["data"]["issueMemberCard"]
    assert issued["__typename"] == "IssuedCard"  # phone codes need a card
    return {"community": community, "member": member}


def scanned(png: bytes) -> str:
    """What a kiosk's scanner reads from the picture of the phone's screen."""
    zbarimg = require("zbarimg", "zbar-tools")
    read = subprocess.run(
        [zbarimg, "--quiet", "--raw", "-"], input=png, capture_output=True, check=True
    )
    return read.stdout.decode().strip()


def test_the_phone_shows_a_code_the_kiosk_scans_and_finds(
    server: Server, resident: dict[str, str]
) -> None:
    token = create_token(server.database_url, Role.MEMBER, [resident["member"]], "李四娘的手机")[1]
    kiosk = server.token(Role.KIOSK, resident["community"])
    with chromium() as driver:
        phone(driver)
        signed_in(driver, server, token, "points")
        deadline = time.monotonic() + 15
        while not driver.find_element(By.ID, "tab-points").is_displayed():
            assert time.monotonic() < deadline, driver.find_element(By.ID, "message").text
            time.sleep(0.1)
        driver.find_element(By.ID, "code-open").click()
        code = shown_code(driver)
        assert driver.find_element(By.ID, "name").text == "李四娘"
        assert Decimal(driver.find_element(By.ID, "code-balance").text) == 0
        seconds = int(driver.find_element(By.ID, "seconds").text)
        assert 0 < seconds <= PHONE_CODE_SECONDS
        assert scanned(driver.find_element(By.ID, "qr").screenshot_as_png) == code
        screenshot(driver, "me-code")

        found = server.gql(kiosk, LOOKUP, c=code)["data"]["memberByCode"]
        assert (found["__typename"], found["memberId"]) == ("KioskMember", resident["member"])

        time.sleep(1.1)  # a code names its expiry to the second
        driver.find_element(By.ID, "refresh").click()
        deadline = time.monotonic() + 15
        while driver.find_element(By.ID, "code").text == code:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert scanned(driver.find_element(By.ID, "qr").screenshot_as_png) != code
        assert requested_hosts(driver) == {"127.0.0.1"}


def test_a_token_that_is_not_a_members_is_told_in_chinese(server: Server) -> None:
    with chromium() as driver:
        signed_in(driver, server, server.admin, "tasks")
        deadline = time.monotonic() + 15
        while "不是成员本人的" not in driver.find_element(By.ID, "message").text:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert driver.find_element(By.ID, "signin").is_displayed()


def signed_in(driver: Any, server: Server, token: str, tab: str) -> None:
    """The page as a phone that signed in before and chose the standard text size."""
    driver.get(f"{server.base}/me#{tab}")
    driver.execute_script(
        "localStorage.setItem('ledger.size', 'standard');"
        "localStorage.setItem('ledger.member.token', arguments[0]);",
        token,
    )
    driver.refresh()


def shown_code(driver: Any) -> str:
    deadline = time.monotonic() + 15
    while not (code := driver.find_element(By.ID, "code").text):
        assert time.monotonic() < deadline, driver.find_element(By.ID, "message").text
        time.sleep(0.1)
    return str(code)
