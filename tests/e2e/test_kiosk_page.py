"""The points store's page (/kiosk) in a real headless browser: sign in once, scan a
member's code, pick goods, confirm — once, however often the clerk taps or the page
reloads — and print the receipt."""

from __future__ import annotations

import base64
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions

from api.auth import create_token
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import Context, MemberKind, Role
from tests.e2e.browser import SCREENSHOTS, chromium, requested_hosts, require, screenshot
from tests.e2e.conftest import Server
from tests.support import earn

ADMIN = Context(actor_id="test", role=Role.ADMIN)
CST = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def shop(server: Server) -> dict[str, Any]:
    """A member with 9.6 points and a card, and a store with two goods."""
    ledger = Ledger(eventsourcing_env(server.database_url), id_hash_key=b"kiosk-page")
    try:
        street = ledger.register_street("果园街道", ADMIN).id
        community = ledger.register_community(street, "果园社区", ADMIN).id
        member = ledger.register_member(MemberKind.RESIDENT, "王小明", community, ADMIN).id
        start = datetime(2026, 5, 1, 9, tzinfo=CST)
        earn(ledger, community, member, start, ADMIN)  # 4 h x 2.0 x 1.2 = 9.6
        oil = ledger.list_item(community, "食用油", "3", ADMIN).id
        soap = ledger.list_item(community, "肥皂", "1", ADMIN).id
        ledger.restock_item(oil, 10, "区财政局", ADMIN)
        ledger.restock_item(soap, 10, "区财政局", ADMIN)
    finally:
        ledger.close()
    issued = server.gql(  # the server's own key makes the card's hash
        server.admin,
        "mutation($m: UUID!) { issueMemberCard(memberId: $m) { ... on IssuedCard { code } } }",
        m=str(member),
    )
    code = issued["data"]["issueMemberCard"]["code"]
    token = create_token(server.database_url, Role.KIOSK, [community], "收银台一号")[1]
    return {
        "community": str(community),
        "member": str(member),
        "code": code,
        "token": token,
        "soap": str(soap),
    }


@pytest.fixture(scope="module")
def page(server: Server, shop: dict[str, Any]) -> Iterator[Any]:
    with chromium() as driver:
        driver.get(f"{server.base}/kiosk")
        visible(driver, "signin")
        driver.find_element(By.ID, "token").send_keys(shop["token"])
        driver.find_element(By.ID, "save-token").click()
        visible(driver, "lookup")
        yield driver
        assert requested_hosts(driver) == {"127.0.0.1"}


def visible(driver: Any, section: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        element = driver.find_element(By.ID, section)
        if element.is_displayed():
            return element
        assert time.monotonic() < deadline, (section, driver.find_element(By.ID, "message").text)
        time.sleep(0.1)


def message(driver: Any, contains: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while contains not in (text := driver.find_element(By.ID, "message").text):
        assert time.monotonic() < deadline, text
        time.sleep(0.1)
    return text


def look_up(driver: Any, code: str) -> None:
    field = driver.find_element(By.ID, "code")
    field.clear()
    field.send_keys(code)
    driver.find_element(By.ID, "find").click()


def choose(driver: Any, quantities: dict[str, int]) -> None:
    for row in driver.find_elements(By.CSS_SELECTOR, "#catalogue tbody tr"):
        name = row.find_elements(By.TAG_NAME, "td")[0].text
        field = row.find_element(By.TAG_NAME, "input")
        field.clear()
        field.send_keys(str(quantities.get(name, 0)))


def redemptions(server: Server) -> int:
    with psycopg.connect(server.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM ledger_events WHERE topic LIKE %s", ("%Redemption.Redeemed",)
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_wrong_code_is_told_in_chinese(page: Any) -> None:
    look_up(page, "WRONGCODE2345")
    assert "积分码" in message(page, "积分码")
    screenshot(page, "kiosk-lookup")


def test_two_goods_redeemed_once_however_often_confirm_is_tapped(
    page: Any, server: Server, shop: dict[str, Any]
) -> None:
    look_up(page, shop["code"])
    visible(page, "basket")
    assert page.find_element(By.ID, "member-name").text == "王*明"
    assert Decimal(page.find_element(By.ID, "member-balance").text) == Decimal("9.6")
    choose(page, {"食用油": 1, "肥皂": 2})
    screenshot(page, "kiosk-basket")
    before = redemptions(server)
    confirm = page.find_element(By.ID, "confirm")
    page.execute_script("arguments[0].click(); arguments[0].click();", confirm)  # a double tap
    visible(page, "receipt")
    assert page.find_element(By.ID, "r-total").text in ("5", "5.0")
    assert Decimal(page.find_element(By.ID, "r-balance").text) == Decimal("4.6")
    screenshot(page, "kiosk-receipt")
    assert redemptions(server) == before + 1


def test_a_reload_in_the_middle_of_a_confirm_redeems_once(
    page: Any, server: Server, shop: dict[str, Any]
) -> None:
    """The request reached the ledger but the page was reloaded before its answer came:
    the page finds the confirmed basket and resends it with its key."""
    page.find_element(By.ID, "next").click()
    request = {
        "s": shop["community"],
        "m": shop["member"],
        "k": "basket-reloaded-0001",
        "lines": [{"itemId": shop["soap"], "quantity": 1}],
    }
    before = redemptions(server)
    page.execute_async_script(
        """const [request, done] = arguments;
        sessionStorage.setItem("kiosk.pending", JSON.stringify(request));
        gql(QUERIES.redeem, request).then(done, done);""",
        request,
    )
    assert redemptions(server) == before + 1
    page.refresh()
    visible(page, "receipt")
    assert page.find_element(By.ID, "r-replayed").is_displayed()
    assert Decimal(page.find_element(By.ID, "r-balance").text) == Decimal("3.6")
    assert redemptions(server) == before + 1


def test_a_basket_over_the_balance_is_refused_in_chinese(
    page: Any, server: Server, shop: dict[str, Any]
) -> None:
    page.find_element(By.ID, "next").click()
    look_up(page, shop["code"])
    visible(page, "basket")
    choose(page, {"食用油": 2})
    before = redemptions(server)
    page.find_element(By.ID, "confirm").click()
    assert "积分不足" in message(page, "积分不足")
    assert redemptions(server) == before


def test_the_store_is_named_and_a_past_receipt_is_reprinted(page: Any) -> None:
    assert page.find_element(By.ID, "store").text == "果园社区积分超市"
    rows = page.find_elements(By.CSS_SELECTOR, "#recent-list tbody tr")
    assert len(rows) == 2  # the two redemptions above, the newest first
    assert "肥皂×1" in rows[0].text and "食用油×1" in rows[1].text
    screenshot(page, "kiosk-recent")
    rows[1].find_element(By.TAG_NAME, "button").click()
    visible(page, "receipt")
    assert page.find_element(By.ID, "r-reprint").is_displayed()
    assert page.find_element(By.ID, "r-store").text == "果园社区积分超市"
    assert page.find_element(By.ID, "r-member").text == "王*明"
    assert Decimal(page.find_element(By.ID, "r-balance").text) == Decimal("4.6")
    assert page.find_element(By.ID, "r-kiosk").text  # the device that redeemed


@pytest.mark.parametrize(("paper", "width_cm"), [("58", 5.8), ("80", 8.0), ("a4", 21.0)])
def test_a_receipt_prints_on_narrow_receipt_paper_and_on_a4(
    page: Any, paper: str, width_cm: float
) -> None:
    """The receipt printed to PDF at the paper's width: every word of it on the page."""
    visible(page, "receipt")
    page.execute_script("document.body.className = arguments[0]", f"paper-{paper}")
    options = PrintOptions()
    options.page_width = width_cm
    options.page_height = 29.7 if paper == "a4" else 20.0
    options.margin_left = options.margin_right = options.margin_top = 0.3
    pdf = SCREENSHOTS / f"kiosk-receipt-{paper}.pdf"
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.write_bytes(base64.b64decode(page.print_page(options)))
    text = subprocess.run(
        [require("pdftotext", "poppler-utils"), "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for expected in ("积分兑换小票", "果园社区积分超市", "王*明", "食用油", "4.6", "补打"):
        assert expected in text, (paper, text)
    for hidden in ("确认兑换", "打印小票", "扫描会员码"):
        assert hidden not in text, (paper, text)  # only the ticket is printed
    [page_box] = re.findall(r'<page width="([\d.]+)"', bbox(pdf))
    right_edges = [float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox(pdf))]
    assert right_edges and max(right_edges) <= float(page_box), paper  # nothing cut off
    subprocess.run(
        [
            require("pdftoppm", "poppler-utils"),
            "-png",
            "-r",
            "100",
            "-singlefile",
            str(pdf),
            str(pdf.with_suffix("")),
        ],
        check=True,
    )


def bbox(pdf: Path) -> str:
    return subprocess.run(
        [require("pdftotext", "poppler-utils"), "-bbox", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
