"""The service loop on the pages people use, in real headless browsers: a resident's phone and a
volunteer's phone (/me, 390 × 844) and the community worker's desktop (/workbench, 1280 px).

A resident raises a need → the worker accepts it and dispatches a task → a volunteer, signed in
with a one-time code the worker issued, signs up → the worker opens the site code screen → the
volunteer checks in by typing the code shown there, and later checks out with the code then
shown → the worker rates the service → the volunteer sees the points and a message → the worker
closes the need → the resident is satisfied → the community's satisfaction rate counts it.

The ledger counts whole minutes served, rounded down to a tenth of an hour, and only a service
attended for most of its scheduled time: so the task lasts ten minutes and the volunteer stays
six of them, as the server's clock (the only one a member's own check-in may use) measures them.
Each step is photographed under build/screenshots/story-NN-*.png."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from api.auth import create_token
from ledger.domain.values import Role
from tests.e2e.browser import chromium, phone, requested_hosts, screenshot
from tests.e2e.conftest import Server

RECEIPT = "__typename ... on Receipt { id position } ... on Problem { code message }"
CST = timedelta(hours=8)
TASK_MINUTES = 10
STAY_SECONDS = 6 * 60 + 10  # six whole minutes of the ten: 0.1 hour, above the attendance floor


def created(server: Server, query: str, **variables: Any) -> str:
    body = server.gql(server.admin, query, **variables)
    (answer,) = body["data"].values()
    assert answer["__typename"] == "Receipt", body
    return str(answer["id"])


@pytest.fixture(scope="module")
def street(server: Server) -> dict[str, Any]:
    """A community, its worker's token, a resident signed in on her phone's code, a volunteer."""
    street = created(server, f'mutation {{ registerStreet(name: "幸福街道") {{ {RECEIPT} }} }}')
    community = created(
        server,
        f"""mutation($s: UUID!) {{ registerCommunity(streetId: $s, name: "幸福社区")
        {{ {RECEIPT} }} }}""",
        s=street,
    )
    register = f"""mutation($c: UUID!, $n: String!) {{ registerMember(kind: RESIDENT, name: $n,
        communityId: $c) {{ {RECEIPT} }} }}"""
    resident = created(server, register, c=community, n="刘桂芳")
    volunteer = created(server, register, c=community, n="王志强")
    worker = create_token(server.database_url, Role.COMMUNITY, [UUID(community)], "网格员李娜")[1]
    issued = server.gql(
        worker,
        """mutation($m: UUID!) { issueSignIn(memberId: $m) {
        __typename ... on SignInCode { code } ... on Problem { message } } }""",
        m=resident,
    )["data"]["issueSignIn"]
    assert issued["__typename"] == "SignInCode", issued
    return {
        "community": community,
        "resident": resident,
        "volunteer": volunteer,
        "worker": worker,
        "resident_code": issued["code"],
    }


@pytest.fixture(scope="module")
def browsers() -> Iterator[dict[str, Any]]:
    with chromium() as desk, chromium() as resident, chromium() as volunteer:
        desk.set_window_size(1280, 900)
        phone(resident)
        phone(volunteer)
        yield {"desk": desk, "resident": resident, "volunteer": volunteer}


def until(driver: Any, what: Callable[[], Any], timeout: float = 20) -> Any:
    """What `what` answers once it is true; fails with the page's message line."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = what()
        except (NoSuchElementException, StaleElementReferenceException, StopIteration):
            answer = None  # not drawn yet, or drawn again under us
        if answer:
            return answer
        assert time.monotonic() < deadline, driver.find_element(By.ID, "message").text
        time.sleep(0.1)


def message(driver: Any) -> str:
    return str(driver.find_element(By.ID, "message").text)


def tap(driver: Any, element: WebElement) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def press(driver: Any, find: Callable[[], WebElement]) -> None:
    """Tap what `find` finds, finding it again when the page redrew it under us."""

    def pressed() -> bool:
        tap(driver, find())
        return True

    until(driver, pressed)


def button(scope: Any, words: str) -> WebElement:
    found: WebElement = scope.find_element(By.XPATH, f".//button[normalize-space()='{words}']")
    return found


def card(driver: Any, kind: str, contains: str) -> WebElement:
    """The member page's card (task, service, need) that mentions `contains`."""
    found: WebElement = until(
        driver,
        lambda: next(
            c
            for c in driver.find_elements(By.CSS_SELECTOR, f"article.{kind}")
            if contains in c.text
        ),
    )
    return found


def tab(driver: Any, name: str) -> None:
    tap(driver, driver.find_element(By.CSS_SELECTOR, f"#tabs [data-tab={name}]"))


def screen(driver: Any, name: str) -> None:
    """Open one of the workbench's screens, once it is read again and shown."""
    tap(driver, driver.find_element(By.CSS_SELECTOR, f"nav [data-screen={name}]"))
    until(driver, lambda: driver.find_element(By.ID, name).is_displayed())


def sign_in_on_phone(driver: Any, server: Server, code: str, size: str) -> None:
    driver.get(f"{server.base}/me")
    tap(driver, until(driver, lambda: driver.find_element(By.ID, f"size-{size}")))
    field = until(driver, lambda: driver.find_element(By.ID, "activation"))
    field.send_keys(code)
    tap(driver, driver.find_element(By.ID, "activate"))
    until(driver, lambda: "欢迎您" in message(driver))


@pytest.mark.long  # the volunteer stays six real minutes on site: `pytest -m long`
def test_a_need_becomes_a_rated_service_and_a_satisfied_resident(
    server: Server, street: dict[str, Any], browsers: dict[str, Any]
) -> None:
    desk, resident, volunteer = browsers["desk"], browsers["resident"], browsers["volunteer"]

    # 1. The resident (large text) raises a need on her phone.
    sign_in_on_phone(resident, server, street["resident_code"], "large")
    tab(resident, "needs")
    tap(resident, until(resident, lambda: resident.find_element(By.ID, "need-new")))
    tap(resident, button(resident.find_element(By.ID, "need-category"), "扶老帮困"))
    resident.find_element(By.ID, "need-place").send_keys("幸福里 5 号楼 301")
    resident.find_element(By.ID, "need-description").send_keys(
        "老伴腿脚不便,想请人陪同去社区医院复诊"
    )
    tap(resident, resident.find_element(By.ID, "need-raise"))
    need = card(resident, "need", "陪同去社区医院复诊")
    assert "待受理" in need.text
    screenshot(resident, "story-01-resident-raises-a-need")

    # 2. The worker signs in on the workbench and accepts it.
    desk.get(f"{server.base}/workbench")
    desk.find_element(By.ID, "token").send_keys(street["worker"])
    tap(desk, desk.find_element(By.ID, "save-token"))
    inbox = until(desk, lambda: desk.find_element(By.CSS_SELECTOR, "[data-need]"))
    assert "刘桂芳" in inbox.text and "陪同去社区医院复诊" in inbox.text
    press(desk, lambda: button(desk.find_element(By.CSS_SELECTOR, "[data-need]"), "受理"))
    until(desk, lambda: "已受理" in desk.find_element(By.CSS_SELECTOR, "[data-need] .tag").text)
    screenshot(desk, "story-02-worker-accepts-the-need")

    # 3. ... and dispatches a task for it (派单), starting in two minutes, ten minutes long.
    tap(desk, button(desk.find_element(By.CSS_SELECTOR, "[data-need]"), "派单(发布任务)"))
    form = until(desk, lambda: desk.find_element(By.ID, "task-form"))
    assert "刘桂芳" in desk.find_element(By.ID, "task-form-need").text
    assert desk.find_element(By.ID, "t-category").get_attribute("value") == "扶老帮困"
    assert desk.find_element(By.ID, "t-place").get_attribute("value") == "幸福里 5 号楼 301"
    start = (datetime.now(UTC) + timedelta(minutes=3)).replace(second=0, microsecond=0)
    fields = {
        "t-title": "陪同刘桂芳家老人复诊",
        "t-day": (start + CST).strftime("%Y-%m-%d"),
        "t-starts": (start + CST).strftime("%H:%M"),
        "t-ends": (start + CST + timedelta(minutes=TASK_MINUTES)).strftime("%H:%M"),
        "t-capacity": "1",
    }
    for field, value in fields.items():
        element = desk.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    screenshot(desk, "story-03-worker-dispatches-a-task")
    tap(desk, form.find_element(By.ID, "t-save"))
    until(desk, lambda: "已派单" in message(desk))
    screen(desk, "needs")
    until(desk, lambda: "已派单" in desk.find_element(By.CSS_SELECTOR, "[data-need] .tag").text)
    assert "陪同刘桂芳家老人复诊" in desk.find_element(By.CSS_SELECTOR, "[data-need]").text

    # 4. The worker issues the volunteer a one-time sign-in code; his phone signs in with it
    #    and he signs up for the task.
    screen(desk, "codes")
    desk.find_element(By.ID, "code-find").send_keys("王志强")
    tap(
        desk,
        until(
            desk,
            lambda: desk.find_element(By.CSS_SELECTOR, f"[data-issue='{street['volunteer']}']"),
        ),
    )
    code = until(desk, lambda: desk.find_element(By.ID, "slip-code").text)
    screenshot(desk, "story-04-worker-issues-a-sign-in-code", codes=(code,))
    sign_in_on_phone(volunteer, server, code, "standard")
    tab(volunteer, "tasks")
    press(volunteer, lambda: button(card(volunteer, "task", "陪同刘桂芳家老人复诊"), "报名"))
    until(volunteer, lambda: "已报名" in message(volunteer))
    tab(volunteer, "services")  # his one place taken, the task is full: no longer listed as open
    assert "已认领" in card(volunteer, "service", "陪同刘桂芳家老人复诊").text
    screenshot(volunteer, "story-05-volunteer-signs-up")

    # 5. The worker opens the site code screen for the task.
    screen(desk, "site")
    tap(desk, until(desk, lambda: desk.find_element(By.CSS_SELECTOR, "[data-site]")))
    shown = until(desk, lambda: desk.find_element(By.ID, "fs-code").text)
    assert re.fullmatch(r"\d{6}", shown)
    assert desk.find_element(By.ID, "fs-task").text == "陪同刘桂芳家老人复诊"
    screenshot(desk, "story-06-site-code-screen", codes=(shown,))

    # 6. The volunteer checks in by typing the code on the worker's screen.
    press(volunteer, lambda: button(card(volunteer, "service", "陪同刘桂芳家老人复诊"), "签到"))
    until(volunteer, lambda: volunteer.find_element(By.ID, "site-code")).send_keys(
        desk.find_element(By.ID, "fs-code").text
    )
    tap(volunteer, volunteer.find_element(By.ID, "presence-confirm"))
    until(volunteer, lambda: "签到成功" in message(volunteer))
    checked_in = time.monotonic()
    service = card(volunteer, "service", "陪同刘桂芳家老人复诊")
    assert "已签到" in service.text and "已核验到场" in service.text
    screenshot(volunteer, "story-07-volunteer-checks-in-with-the-site-code")

    # 7. Six minutes later (the site screen has changed its code meanwhile), he checks out with
    #    the code the screen shows then.
    time.sleep(max(0.0, STAY_SECONDS - (time.monotonic() - checked_in)))
    later = until(desk, lambda: desk.find_element(By.ID, "fs-code").text)
    assert later != shown  # the screen fetched fresh codes as they changed
    press(volunteer, lambda: button(card(volunteer, "service", "陪同刘桂芳家老人复诊"), "签退"))
    until(volunteer, lambda: volunteer.find_element(By.ID, "site-code")).send_keys(later)
    tap(volunteer, volunteer.find_element(By.ID, "presence-confirm"))
    until(volunteer, lambda: "签退成功" in message(volunteer))
    screenshot(volunteer, "story-08-volunteer-checks-out")
    tap(desk, desk.find_element(By.ID, "fs-close"))

    # 8. The worker rates the service in the queue (一事一评): 很好.
    screen(desk, "rating")
    queue = until(
        desk,
        lambda: next(
            r
            for r in desk.find_elements(By.CSS_SELECTOR, "#rating-list [data-service]")
            if "王志强" in r.text
        ),
    )
    assert "0.1 小时" in queue.text
    screenshot(desk, "story-09-rating-queue")
    tap(desk, queue.find_element(By.CSS_SELECTOR, "[data-rate=EXCELLENT]"))
    until(desk, lambda: "已评价王志强:很好" in message(desk))

    # 9. The volunteer sees the points in his history and a message in his inbox.
    tab(volunteer, "points")
    entry = until(
        volunteer,
        lambda: next(
            e
            for e in volunteer.find_elements(By.CSS_SELECTOR, "#history-list article")
            if "陪同刘桂芳家老人复诊" in e.text
        ),
    )
    points = re.search(r"\+(\d+\.\d)", entry.text)
    assert points and float(points.group(1)) > 0, entry.text
    assert volunteer.find_element(By.ID, "balance").text == points.group(1)
    screenshot(volunteer, "story-10-volunteer-sees-the-points")
    tab(volunteer, "inbox")
    until(volunteer, lambda: points.group(1) in volunteer.find_element(By.ID, "inbox-list").text)
    screenshot(volunteer, "story-11-volunteer-inbox")

    # 10. The worker closes the need with a note.
    screen(desk, "needs")
    need_card = until(desk, lambda: desk.find_element(By.CSS_SELECTOR, "#needs [data-need]"))
    need_card.find_element(By.CSS_SELECTOR, "input[aria-label=办结说明]").send_keys(
        "王志强已陪同老人复诊,医生开了药,老人已安全到家"
    )
    tap(desk, button(need_card, "办结"))
    until(desk, lambda: "已办结" in desk.find_element(By.CSS_SELECTOR, "[data-need] .tag").text)
    screenshot(desk, "story-12-worker-closes-the-need")

    # 11. The resident says she is satisfied (满意).
    resident.refresh()
    tab(resident, "needs")
    need = card(resident, "need", "陪同去社区医院复诊")
    assert "已办结" in need.text and "老人已安全到家" in need.text
    press(resident, lambda: button(card(resident, "need", "陪同去社区医院复诊"), "满意"))
    press(resident, lambda: button(card(resident, "need", "陪同去社区医院复诊"), "提交评价"))
    until(resident, lambda: "谢谢您的评价" in message(resident))
    assert "满意" in card(resident, "need", "陪同去社区医院复诊").text
    screenshot(resident, "story-13-resident-is-satisfied")

    # 12. The community's satisfaction rate counts it.
    screen(desk, "board")
    board = until(desk, lambda: desk.find_element(By.ID, "board-body").text)
    assert "100.0%" in board and "已评 1 件:满意 1" in board
    screenshot(desk, "story-14-satisfaction-rate")
    for driver in (desk, resident, volunteer):
        assert requested_hosts(driver) == {"127.0.0.1"}  # nothing from another host
