"""The member's phone pages (/me, 我的志愿) in a real headless browser at a phone's size
(390 × 844, touch): the text size offered first, a sign-in with the community's one-time code,
tasks to sign up for and withdraw from, check-in and check-out with the site code the community
shows, a need raised, followed and rated, points in words, the inbox; the controls' sizes, text
and contrast in both text sizes; nothing asked of another host."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from api.auth import create_token
from ledger.domain.values import Role
from tests.e2e.browser import CAMERA, chromium, phone, place, requested_hosts, screenshot
from tests.e2e.conftest import Server
from tests.e2e.test_member_codes import RESULT, created

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-")
PUBLISH = f"""mutation($c: UUID!, $t: String!, $cat: String!, $s: DateTime!, $e: DateTime!,
  $lat: Float, $lon: Float,
  $p: String) {{ publishTask(communityId: $c, title: $t, category: $cat, startsAt: $s, endsAt: $e,
  capacity: 3, place: $p, latitude: $lat, longitude: $lon) {{ {RESULT} }} }}"""
SITE = (30.2741, 120.1551)  # where 楼道清扫 takes place
FAKE_DETECTOR = """window.BarcodeDetector = class {
  async detect(video) {
    const shown = window.shownToCamera;
    return shown && video.readyState >= 2 ? [{ rawValue: shown }] : [];
  }
};"""
"""Linux chromium has no BarcodeDetector: this one reads what the test puts before the camera
(the fake camera's frames must be playing)."""
PLACES_LEFT = "query($c: UUID!) { openTasks(communityId: $c) { taskId placesLeft } }"
SITE_CODE = """query($t: UUID!) { siteCode(taskId: $t) {
  __typename ... on SiteCode { code } ... on Problem { code message } } }"""
ISSUE_SIGN_IN = """mutation($m: UUID!) { issueSignIn(memberId: $m) {
  __typename ... on SignInCode { code memberName } ... on Problem { code message } } }"""


def ok(server: Server, token: str, query: str, **variables: Any) -> dict[str, Any]:
    body = server.gql(token, query, **variables)
    (result,) = body["data"].values()
    assert result["__typename"] == "Receipt", body
    return dict(result)


@pytest.fixture(scope="module")
def street(server: Server) -> dict[str, str]:
    """A community with its worker's token, a resident, a task tomorrow and one about to start."""
    street = created(server, f'mutation {{ registerStreet(name: "桂花街道") {{ {RESULT} }} }}')
    community = created(
        server,
        f"""mutation($s: UUID!) {{ registerCommunity(streetId: $s, name: "桂花社区")
        {{ {RESULT} }} }}""",
        s=street,
    )
    member = created(
        server,
        f"""mutation($c: UUID!) {{ registerMember(kind: RESIDENT, name: "张桂兰", communityId: $c)
        {{ {RESULT} }} }}""",
        c=community,
    )
    worker = create_token(server.database_url, Role.COMMUNITY, [UUID(community)], "桂花社区网格员")[
        1
    ]
    now = datetime.now(UTC).replace(microsecond=0)
    tasks = {}
    for title, category, where, starts in (
        ("陪独居老人买菜", "扶老帮困", "桂花苑 3 号楼", now + timedelta(days=1)),
        ("楼道清扫", "清洁卫生", "桂花苑 1 号楼", now + timedelta(minutes=30)),  # opens 1 h before
    ):
        tasks[title] = ok(
            server,
            worker,
            PUBLISH,
            c=community,
            t=title,
            cat=category,
            s=starts.isoformat(),
            e=(starts + timedelta(hours=2)).isoformat(),
            p=where,
            lat=SITE[0] if title == "楼道清扫" else None,
            lon=SITE[1] if title == "楼道清扫" else None,
        )["id"]
    return {"community": community, "member": member, "worker": worker, **tasks}


@pytest.fixture(scope="module")
def me(server: Server) -> Iterator[Any]:
    with chromium(*CAMERA) as driver:
        phone(driver)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FAKE_DETECTOR})
        driver.get(f"{server.base}/me")
        yield driver
        assert requested_hosts(driver) == {"127.0.0.1"}  # nothing from another host


def visible(driver: Any, element_id: str, timeout: float = 15) -> WebElement:
    deadline = time.monotonic() + timeout
    element: WebElement
    while not (element := driver.find_element(By.ID, element_id)).is_displayed():
        assert time.monotonic() < deadline, (element_id, said(driver))
        time.sleep(0.1)
    return element


def said(driver: Any) -> str:
    return str(driver.find_element(By.ID, "message").text)


def saying(driver: Any, contains: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while contains not in (text := said(driver)):
        assert time.monotonic() < deadline, text
        time.sleep(0.1)
    return text


def tap(driver: Any, element: WebElement) -> None:
    """A tap where a thumb would make it: the element scrolled clear of the bottom tabs."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def card(driver: Any, kind: str, title: str, timeout: float = 15) -> WebElement:
    """The card (task, service, need) whose heading is `title`, once the page shows it."""
    deadline = time.monotonic() + timeout
    while True:
        found: WebElement
        try:
            for found in driver.find_elements(By.CSS_SELECTOR, f"article.{kind}"):
                if found.is_displayed() and found.find_element(By.TAG_NAME, "h3").text == title:
                    return found
        except StaleElementReferenceException:
            pass
        assert time.monotonic() < deadline, (kind, title, said(driver))
        time.sleep(0.1)


def button(element: WebElement, text: str) -> WebElement:
    for found in element.find_elements(By.TAG_NAME, "button"):
        if found.text == text:
            return found
    raise AssertionError((text, element.text))


def buttons(element: WebElement) -> list[str]:
    return [found.text for found in element.find_elements(By.TAG_NAME, "button")]


def until(check: Any, timeout: float = 15) -> Any:
    """What `check` answers once it answers something, the page having redrawn its lists
    (elements found before a redraw are stale and found again)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if result := check():
                return result
        except StaleElementReferenceException:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.1)


def tab(driver: Any, name: str) -> None:
    """Open a tab and wait until it has read its lists."""
    tap(driver, driver.find_element(By.CSS_SELECTOR, f'nav#tabs button[data-tab="{name}"]'))
    section = visible(driver, f"tab-{name}")
    until(lambda: section.get_attribute("aria-busy") is None)


def no_ids(driver: Any) -> None:
    text = driver.find_element(By.TAG_NAME, "body").text
    assert not UUID_TEXT.search(text), text


def refused_in_chinese(driver: Any, timeout: float = 15) -> str:
    """The refusal the page shows (its message line, marked 未完成): the ledger's own
    message, in Chinese."""
    deadline = time.monotonic() + timeout
    box = driver.find_element(By.ID, "message")
    while not (box.is_displayed() and "error" in str(box.get_attribute("class"))):
        assert time.monotonic() < deadline, box.text
        time.sleep(0.1)
    text = str(box.text)
    assert re.search(r"[\u4e00-\u9fff]", text) and not re.search(r"[A-Za-z]{3}", text), text
    return text


def caught_up(server: Server, street: dict[str, str], position: int) -> None:
    """The read models have what the worker just did (as the page's next reads will)."""
    body = server.gql(
        street["worker"],
        "query($m: UUID!, $w: Int) { member(id: $m, waitFor: $w) { id } }",
        m=street["member"],
        w=position,
    )
    assert body["data"]["member"]["id"] == street["member"], body


def places_left(server: Server, street: dict[str, str], task: str) -> int:
    tasks = server.gql(street["worker"], PLACES_LEFT, c=street["community"])["data"]["openTasks"]
    return int(next(t["placesLeft"] for t in tasks if t["taskId"] == task))


def test_a_first_visit_offers_the_large_text_before_anything_else(me: Any) -> None:
    visible(me, "size-choice")
    assert not me.find_element(By.ID, "signin").is_displayed()
    asked = me.find_element(By.CSS_SELECTOR, "#size-choice p")  # asked in large text
    assert float(asked.value_of_css_property("font-size").removesuffix("px")) >= 18
    screenshot(me, "me-first-visit")
    tap(me, me.find_element(By.ID, "size-large"))
    visible(me, "signin")
    assert me.execute_script("return document.documentElement.dataset.size") == "large"


def test_the_member_signs_in_with_the_communitys_one_time_code(
    me: Any, server: Server, street: dict[str, str]
) -> None:
    issued = server.gql(street["worker"], ISSUE_SIGN_IN, m=street["member"])["data"]
    code = issued["issueSignIn"]["code"]
    assert issued["issueSignIn"]["memberName"] == "张桂兰"
    field = me.find_element(By.ID, "activation")
    field.send_keys("ABCD2345")  # not a code the community gave
    tap(me, me.find_element(By.ID, "activate"))
    refused_in_chinese(me)
    screenshot(me, "me-signin")
    me.execute_script("window.shownToCamera = arguments[0]", code)  # the slip before the camera
    tap(me, me.find_element(By.ID, "activation-scan"))
    visible(me, "tab-tasks")
    assert "欢迎您,张桂兰(桂花社区)" in saying(me, "欢迎")
    assert me.find_element(By.ID, "who").text == "张桂兰"
    assert me.execute_script("return localStorage.getItem('ledger.member.token')")
    # the code is used: a second phone cannot sign in with it
    again = server.gql(
        None,
        """mutation($c: String!) { activateSignIn(code: $c, device: "另一部手机") {
        __typename ... on Problem { code } } }""",
        c=code,
    )["data"]["activateSignIn"]
    assert again.get("code") == "SIGN_IN_CODE_INVALID", again


def test_the_member_sees_open_tasks_signs_up_and_withdraws(
    me: Any, server: Server, street: dict[str, str]
) -> None:
    task = card(me, "task", "陪独居老人买菜")
    text = task.text
    for words in ("扶老帮困 · 急难险重", "桂花苑 3 号楼", "还剩 3 个"):
        assert words in text, text
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d–\d\d:\d\d", text), text
    no_ids(me)
    screenshot(me, "me-tasks")
    tap(me, button(task, "报名"))
    assert "已报名“陪独居老人买菜”" in saying(me, "已报名")
    task = until(
        lambda: (c := card(me, "task", "陪独居老人买菜")) and "取消报名" in buttons(c) and c
    )
    assert "我已报名" in task.text and "还剩 2 个" in task.text, task.text
    assert places_left(server, street, street["陪独居老人买菜"]) == 2
    tap(me, button(task, "取消报名"))
    assert "已取消报名" in saying(me, "已取消报名")
    task = until(lambda: (c := card(me, "task", "陪独居老人买菜")) and "报名" in buttons(c) and c)
    assert "我已报名" not in task.text and "还剩 3 个" in task.text, task.text
    assert places_left(server, street, street["陪独居老人买菜"]) == 3


def test_the_member_checks_in_and_out_with_the_site_code(
    me: Any, server: Server, street: dict[str, str]
) -> None:
    tap(me, button(card(me, "task", "楼道清扫"), "报名"))
    saying(me, "已报名“楼道清扫”")
    tab(me, "services")
    service = card(me, "service", "楼道清扫")
    assert "已认领" in service.text, service.text
    screenshot(me, "me-services")
    tap(me, button(service, "签到"))
    visible(me, "presence")
    me.find_element(By.ID, "site-code").send_keys("000000")  # not the code shown at the site
    tap(me, me.find_element(By.ID, "presence-confirm"))
    refused_in_chinese(me)
    site = server.gql(street["worker"], SITE_CODE, t=street["楼道清扫"])["data"]["siteCode"]
    field = me.find_element(By.ID, "site-code")
    field.clear()
    field.send_keys(site["code"])
    place(me, server.base, 31.2304, 121.4737, 30)  # the phone is in another city
    tap(me, me.find_element(By.ID, "share-location-line"))  # the member allows its location
    assert me.find_element(By.ID, "share-location").is_selected()
    tap(me, me.find_element(By.ID, "presence-confirm"))
    assert "超过规定" in refused_in_chinese(me)
    place(me, server.base, SITE[0] + 0.0005, SITE[1], 20)  # about 55 m from the site
    screenshot(me, "me-check-in")
    tap(me, me.find_element(By.ID, "presence-confirm"))
    assert "签到成功" in saying(me, "签到成功")
    service = until(lambda: (c := card(me, "service", "楼道清扫")) and "签退" in buttons(c) and c)
    assert "已签到" in service.text and "已核验到场" in service.text, service.text
    tap(me, button(service, "签退"))
    visible(me, "presence")
    time.sleep(1)  # a check-out is after its check-in, to the second
    field = me.find_element(By.ID, "site-code")
    field.send_keys(site["code"])  # a code from the screen works once per service
    tap(me, me.find_element(By.ID, "presence-confirm"))
    assert "已用过" in refused_in_chinese(me)
    field.clear()  # this community does not require codes: the member checks out without one
    tap(me, me.find_element(By.ID, "presence-confirm"))
    assert "签退成功" in saying(me, "签退成功")
    service = until(lambda: (c := card(me, "service", "楼道清扫")) and "已签退" in c.text and c)
    assert "签到" in service.text and "签退" in service.text and not buttons(service)
    assert "已核验到场" in service.text, service.text
    no_ids(me)
    me.execute_script("arguments[0].scrollIntoView({block: 'center'})", service)
    screenshot(me, "me-services-done")


def test_the_member_raises_a_need_follows_it_and_rates_it(
    me: Any, server: Server, street: dict[str, str]
) -> None:
    tab(me, "needs")
    tap(me, me.find_element(By.ID, "need-new"))
    tap(me, button(me.find_element(By.ID, "need-category"), "扶老帮困"))
    me.find_element(By.ID, "need-place").send_keys("桂花苑 5 号楼 302")
    me.find_element(By.ID, "need-description").send_keys("家里灯泡坏了,老人够不着,想请人帮忙换一下")
    screenshot(me, "me-need-form")
    tap(me, me.find_element(By.ID, "need-raise"))
    saying(me, "已提交")
    need = card(me, "need", "扶老帮困")
    assert "待受理" in need.text and "桂花苑 5 号楼 302" in need.text, need.text
    need_id = need.get_attribute("data-need")
    for query in (
        "mutation($n: UUID!) { acceptNeed(needId: $n) { " + RESULT + " } }",
        'mutation($n: UUID!) { closeNeed(needId: $n, note: "已上门换好灯泡") { ' + RESULT + " } }",
    ):
        done = ok(server, street["worker"], query, n=need_id)
    caught_up(server, street, done["position"])
    tab(me, "inbox")
    tab(me, "needs")
    need = until(lambda: (c := card(me, "need", "扶老帮困")) and "满意" in buttons(c) and c)
    assert "已办结" in need.text and "已上门换好灯泡" in need.text, need.text
    assert "已受理" in need.text and "桂花社区网格员" in need.text  # each step, and by whom
    tap(me, button(need, "满意"))
    need.find_element(By.TAG_NAME, "textarea").send_keys("师傅很耐心")
    screenshot(me, "me-need-rate")
    tap(me, button(need, "提交评价"))
    saying(me, "谢谢您的评价")
    need = until(lambda: (c := card(me, "need", "扶老帮困")) and "我的评价" in c.text and c)
    assert "满意:师傅很耐心" in need.text and "提交评价" not in buttons(need), need.text
    no_ids(me)
    screenshot(me, "me-needs")


def test_points_are_told_in_words(me: Any, server: Server, street: dict[str, str]) -> None:
    """Yesterday's service, entered by the worker from a paper sheet and rated: its points
    on the member's phone, named by the task."""
    yesterday = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    worker = street["worker"]
    task = ok(
        server,
        worker,
        PUBLISH,
        c=street["community"],
        t="文明宣传进楼栋",
        cat="文明宣传",
        s=yesterday.isoformat(),
        e=(yesterday + timedelta(hours=2)).isoformat(),
        p=None,
    )["id"]
    service = ok(
        server,
        worker,
        "mutation($t: UUID!, $m: UUID!) { claimTask(taskId: $t, memberId: $m) { " + RESULT + " } }",
        t=task,
        m=street["member"],
    )["id"]
    for step, at in (("checkIn", yesterday), ("checkOut", yesterday + timedelta(hours=2))):
        ok(
            server,
            worker,
            f"mutation($s: UUID!, $at: DateTime!) {{ {step}(serviceId: $s, at: $at) "
            f"{{ {RESULT} }} }}",
            s=service,
            at=at.isoformat(),
        )
    rated = ok(
        server,
        worker,
        "mutation($s: UUID!) { rateService(serviceId: $s, rating: EXCELLENT) { " + RESULT + " } }",
        s=service,
    )
    caught_up(server, street, rated["position"])
    tab(me, "points")
    entry = until(lambda: me.find_elements(By.CSS_SELECTOR, "#history-list article.entry"))[0]
    assert "文明宣传进楼栋" in entry.text and "+" in entry.text, entry.text
    balance = me.find_element(By.ID, "balance").text
    assert float(balance) > 0 and f"余额 {balance}" in entry.text, (balance, entry.text)
    no_ids(me)
    screenshot(me, "me-points")
    tap(me, me.find_element(By.ID, "certificate-issue"))  # this year's, by the member themself
    saying(me, "已开具志愿服务证明")
    issued = until(lambda: me.find_elements(By.CSS_SELECTOR, "#certificate-list article"))[0]
    assert "1 次" in issued.text and f"{balance} 积分" in issued.text, issued.text
    me.execute_script(
        """window.made = []; const make = URL.createObjectURL;
        URL.createObjectURL = (blob) => {
          window.made.push([blob.type, blob.size]);
          return make(blob);
        };"""
    )
    tap(me, button(issued, "下载证明"))
    kind, size = until(lambda: me.execute_script("return window.made[0]"))
    assert kind == "application/pdf" and size > 1000, (kind, size)
    screenshot(me, "me-certificate")
    tab(me, "services")
    past = card(me, "service", "文明宣传进楼栋")
    for words in ("已评价", "很好", "2", "积分"):
        assert words in past.text, past.text


def test_the_inbox_tells_the_member_in_words(me: Any) -> None:
    tab(me, "inbox")
    items = until(lambda: me.find_elements(By.CSS_SELECTOR, "#inbox-list article"))
    text = "\n".join(item.text for item in items)
    assert "文明宣传进楼栋" in text, text  # the service rated and the points it earned
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d", text), text
    no_ids(me)
    screenshot(me, "me-inbox")


def test_settings_change_the_text_size_and_sign_out(me: Any) -> None:
    tap(me, me.find_element(By.ID, "settings-open"))
    visible(me, "settings")
    assert me.find_element(By.ID, "settings-large").get_attribute("aria-pressed") == "true"
    screenshot(me, "me-settings")
    tap(me, me.find_element(By.ID, "settings-standard"))
    assert me.execute_script("return document.documentElement.dataset.size") == "standard"
    assert "标准版" in me.find_element(By.ID, "size-now").text
    tap(me, me.find_element(By.ID, "signout"))
    visible(me, "signin")
    assert me.execute_script("return localStorage.getItem('ledger.member.token')") is None
    assert not me.find_element(By.ID, "tabs").is_displayed()


# ---- Sizes, text and contrast in both text sizes ----------------------------------------------
MEASURE = """
const selectors = arguments[0];
const rgba = (text) => {
  const [r, g, b, a = 1] = text.match(/[\\d.]+/g).map(Number);
  return [r, g, b, a];
};
const over = (top, below) => top.slice(0, 3).map((c, i) => c * top[3] + below[i] * (1 - top[3]));
const ground = (node) => {
  if (!node || node.nodeType !== 1) return [255, 255, 255];
  const own = rgba(getComputedStyle(node).backgroundColor);
  return own[3] >= 1 ? own.slice(0, 3) : over(own, ground(node.parentElement));
};
const found = [];
for (const selector of selectors) {
  for (const node of document.querySelectorAll(selector)) {
    const box = node.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    const style = getComputedStyle(node);
    found.push({
      selector, text: (node.innerText || node.placeholder || "").slice(0, 20),
      width: box.width, height: box.height,
      fontSize: parseFloat(style.fontSize), lineHeight: style.lineHeight,
      color: over(rgba(style.color), ground(node)), background: ground(node),
    });
  }
}
return found;
"""
CONTROLS = {
    "signin": ["#activation", "#activate"],
    "tasks": ["nav#tabs button", "#settings-open", "article.task button"],
    "needs": [
        "#need-category button",
        "#need-place",
        "#need-description",
        "#need-raise",
        "#need-cancel",
    ],
    "points": ["#code-open", "#certificate-issue", "article.certificate button"],
    "settings": ["#settings-large", "#settings-standard", "#signout", "#settings-close"],
}
TEXT = {
    "signin": ["#signin p", "#signin label"],
    "tasks": ["article.task h3", "article.task p", "article.task .tag", "header.bar h1"],
    "needs": ["#tab-needs p", "#tab-needs label"],
    "points": ["#points-summary p", "article.entry p", "article.certificate p"],
    "settings": ["#settings p"],
}


def luminance(rgb: list[float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: list[float], other: list[float]) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize(("size", "tap_px", "font_px"), [("standard", 44, 14), ("large", 60, 18)])
def test_controls_and_text_meet_the_elderly_friendly_sizes(
    server: Server, street: dict[str, str], size: str, tap_px: int, font_px: int
) -> None:
    """Measured on the pages as the story above left them (tasks, a certificate)."""
    token = create_token(
        server.database_url, Role.MEMBER, [UUID(street["member"])], "张桂兰的手机"
    )[1]
    with chromium() as driver:
        phone(driver)
        driver.get(f"{server.base}/me")
        driver.execute_script("localStorage.setItem('ledger.size', arguments[0])", size)
        driver.refresh()
        measured = {"signin": measure(driver, "signin")}
        driver.execute_script("localStorage.setItem('ledger.member.token', arguments[0])", token)
        driver.refresh()  # signed in on this phone now
        card(driver, "task", "陪独居老人买菜")
        measured["tasks"] = measure(driver, "tasks")
        tab(driver, "points")
        until(lambda: driver.find_elements(By.CSS_SELECTOR, "article.certificate"))
        measured["points"] = measure(driver, "points")
        tab(driver, "needs")
        tap(driver, driver.find_element(By.ID, "need-new"))
        measured["needs"] = measure(driver, "needs")
        tap(driver, driver.find_element(By.ID, "settings-open"))
        visible(driver, "settings")
        measured["settings"] = measure(driver, "settings")
        screenshot(driver, f"me-settings-{size}")
        assert requested_hosts(driver) == {"127.0.0.1"}
    for screen, (controls, texts) in measured.items():
        assert {c["selector"] for c in controls} == set(CONTROLS[screen]), screen
        for control in controls:
            assert control["width"] >= tap_px and control["height"] >= tap_px, control
        for item in controls + texts:
            assert item["fontSize"] >= font_px, item
            assert item["lineHeight"].endswith("px"), (item["selector"], item["text"])
            assert float(item["lineHeight"][:-2]) >= 1.3 * item["fontSize"] - 0.01, item
            assert contrast(item["color"], item["background"]) >= 4.5, item


def measure(driver: Any, screen: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return (
        driver.execute_script(MEASURE, CONTROLS[screen]),
        driver.execute_script(MEASURE, TEXT[screen]),
    )
