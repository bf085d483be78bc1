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
        ask(QUERIES.redeem, request).then(done, done);""",
        request,
    )
    assert redemptions(server) == before + 1
    page.refresh()
    visible(page, "receipt")
    assert page.find_element(By.ID, "r-replayed").is_displayed()
    assert Decimal(page.find_element(By.ID, "r-balance").text) == Decimal("3.6")
    assert redemptions(server) == before + 1


def test_the_basket_is_capped_at_the_balance_as_it_is_filled(
    page: Any, shop: dict[str, Any]
) -> None:
    page.find_element(By.ID, "next").click()
    look_up(page, shop["code"])
    visible(page, "basket")
    assert Decimal(page.find_element(By.ID, "member-balance").text) == Decimal("3.6")
    choose(page, {"食用油": 2})  # 6 points asked for, 3.6 held
    assert quantities(page) == {"食用油": "1", "肥皂": "0"}
    hint = page.find_element(By.ID, "basket-hint").text
    assert "积分不足" in hint and "“食用油”最多可选 1 件" in hint, hint
    assert page.find_element(By.ID, "total").text == "3.0"
    assert page.find_element(By.ID, "left").text == "0.6"
    screenshot(page, "kiosk-basket-capped")
    enter(page, "肥皂", 1)  # 1 more point than the 0.6 left
    assert quantities(page) == {"食用油": "1", "肥皂": "0"}
    assert "“肥皂”最多可选 0 件" in page.find_element(By.ID, "basket-hint").text


def enter(driver: Any, name: str, quantity: int) -> None:
    """Type one quantity, leaving the others as they are."""
    for row in driver.find_elements(By.CSS_SELECTOR, "#catalogue tbody tr"):
        if row.find_elements(By.TAG_NAME, "td")[0].text == name:
            field = row.find_element(By.TAG_NAME, "input")
            field.clear()
            field.send_keys(str(quantity))


def quantities(driver: Any) -> dict[str, str]:
    return {
        row.find_elements(By.TAG_NAME, "td")[0].text: row.find_element(
            By.TAG_NAME, "input"
        ).get_attribute("value")
        for row in driver.find_elements(By.CSS_SELECTOR, "#catalogue tbody tr")
    }


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
    assert page.find_element(By.ID, "r-kiosk").text == "收银台一号"  # the device, by name
    number = page.find_element(By.ID, "r-number").text
    assert re.fullmatch(r"\d{4}-\d{8}", number), number


@pytest.mark.parametrize(("paper", "width_cm"), [("58", 5.8), ("80", 8.0), ("a4", 21.0)])
def test_a_receipt_prints_on_narrow_receipt_paper_and_on_a4(
    page: Any, paper: str, width_cm: float
) -> None:
    """The receipt printed to PDF at the paper's width: every word of it on the page,
    the device's name and the receipt's number each on one line."""
    visible(page, "receipt")
    number = page.find_element(By.ID, "r-number").text
    text = print_pdf(page, "receipt", paper, width_cm)
    for expected in ("积分兑换小票", "果园社区积分超市", "王*明", "食用油", "4.6", "补打"):
        assert expected in text, (paper, text)
    lines = [line.strip() for line in text.splitlines()]
    assert "终端:收银台一号" in lines and f"单号:{number}" in lines, (paper, text)
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", text), text  # no UUID
    for hidden in ("确认兑换", "打印小票", "扫描会员码", "撤销"):
        assert hidden not in text, (paper, text)  # only the ticket is printed


def print_pdf(page: Any, sheet: str, paper: str, width_cm: float) -> str:
    """Print a sheet (receipt or day) as the page's print buttons do, to a PDF at the
    paper's width (kept with a PNG of it in build/screenshots/); its text, laid out.
    Nothing may stick out past the paper's right edge."""
    page.execute_script("document.body.className = arguments[0]", f"paper-{paper} sheet-{sheet}")
    options = PrintOptions()
    options.page_width = width_cm
    options.page_height = 29.7 if paper == "a4" else 20.0
    options.margin_left = options.margin_right = options.margin_top = 0.3
    pdf = SCREENSHOTS / f"kiosk-{sheet}-{paper}.pdf"
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.write_bytes(base64.b64decode(page.print_page(options)))
    text = subprocess.run(
        [require("pdftotext", "poppler-utils"), "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
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
    return text


def test_the_clerk_undoes_a_mistake_with_a_reason(
    page: Any, server: Server, shop: dict[str, Any]
) -> None:
    page.find_element(By.ID, "next").click()
    look_up(page, shop["code"])
    visible(page, "basket")
    choose(page, {"肥皂": 1})
    page.find_element(By.ID, "confirm").click()
    visible(page, "receipt")
    number = page.find_element(By.ID, "r-number").text
    assert Decimal(page.find_element(By.ID, "r-balance").text) == Decimal("2.6")
    page.find_element(By.ID, "undo-this").click()
    visible(page, "undo")
    assert page.find_element(By.ID, "u-number").text == number
    page.find_element(By.ID, "u-confirm").click()
    assert "请填写撤销原因" in message(page, "撤销原因")  # a reason first
    page.find_element(By.ID, "u-reason").send_keys("会员改选其他物品")
    screenshot(page, "kiosk-undo")
    page.find_element(By.ID, "u-confirm").click()
    visible(page, "day")
    assert f"已撤销单号 {number}" in message(page, "已撤销")
    screenshot(page, "kiosk-undone")
    page.find_element(By.ID, "d-back").click()
    look_up(page, shop["code"])
    visible(page, "basket")
    assert Decimal(page.find_element(By.ID, "member-balance").text) == Decimal("3.6")
    rows = page.find_elements(By.CSS_SELECTOR, "#recent-list tbody tr")
    assert "(已撤销)" in rows[0].text, rows[0].text


def test_the_day_summary_finds_a_receipt_by_number_and_prints(
    page: Any, shop: dict[str, Any]
) -> None:
    page.find_element(By.ID, "day-open").click()
    visible(page, "day")
    # two redemptions stand (食用油 1 + 肥皂 2, then 肥皂 1), the third was undone
    assert page.find_element(By.ID, "d-count").text == "2"
    assert page.find_element(By.ID, "d-cancelled").text == "1"
    assert Decimal(page.find_element(By.ID, "d-points").text) == Decimal("6")
    goods = [r.text for r in page.find_elements(By.CSS_SELECTOR, "#d-goods tbody tr")]
    assert goods == ["肥皂 3 3.0", "食用油 1 3.0"], goods
    rows = page.find_elements(By.CSS_SELECTOR, "#d-receipts tbody tr")
    assert len(rows) == 3
    undone = rows[0].find_elements(By.TAG_NAME, "td")[1].text
    assert not rows[0].find_elements(By.TAG_NAME, "button")  # undone: nothing to undo
    assert all(r.find_elements(By.TAG_NAME, "button") for r in rows[1:])
    screenshot(page, "kiosk-day")
    page.find_element(By.ID, "d-find").send_keys(undone)
    shown = [r for r in rows if r.is_displayed()]
    assert len(shown) == 1 and "已撤销" in shown[0].text
    screenshot(page, "kiosk-day-found")
    text = print_pdf(page, "day", "58", 5.8)
    for expected in ("日结单", "果园社区积分超市", "终端:收银台一号", "肥皂", "食用油", "6.0"):
        assert expected in text, text
    for hidden in ("打印日结", "返回兑换", "查找", undone):
        assert hidden not in text, text  # the sheet only, not the list of receipts


def bbox(pdf: Path) -> str:
    return subprocess.run(
        [require("pdftotext", "poppler-utils"), "-bbox", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
