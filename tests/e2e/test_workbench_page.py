"""The community workbench (/workbench) in a real headless browser at a desktop's 1280 px:
needs, tasks and the day's roster, the site code screen, a paper sheet, the rating queue, the
board and a member's sign-in code, each screen read as a worker reads it (names, Beijing time)
and photographed; nothing leaves for another host; still usable at 1024 px."""

from __future__ import annotations

import base64
import re
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions

from api.auth import create_token
from ledger.domain.values import Role
from tests.e2e.browser import SCREENSHOTS, chromium, requested_hosts, require, screenshot
from tests.e2e.conftest import Server

RECEIPT = "__typename ... on Receipt { id position } ... on Problem { code message }"
CST_OFFSET = timedelta(hours=8)


def done(server: Server, token: str, query: str, **variables: Any) -> dict[str, Any]:
    body = server.gql(token, query, **variables)
    assert "errors" not in body, body
    (answer,) = body["data"].values()
    assert answer.get("__typename", "Receipt") == "Receipt", answer
    return dict(answer)


def at(moment: datetime) -> str:
    return moment.isoformat()


@pytest.fixture(scope="module")
def desk(server: Server) -> dict[str, Any]:
    """A community with residents, a need, and tasks: tomorrow's (claimed), one to edit, one to
    cancel, one running now, and one served this morning (two checked out, one never came)."""
    admin = server.admin
    street = done(server, admin, f'mutation {{ registerStreet(name: "春晖街道") {{ {RECEIPT} }} }}')
    community = done(
        server,
        admin,
        f"""mutation($s: UUID!) {{ registerCommunity(streetId: $s, name: "春晖社区",
        grids: ["一网格"]) {{ {RECEIPT} }} }}""",
        s=street["id"],
    )["id"]
    names = ["王秀英", "李建国", "赵敏", "陈静"]
    members = {
        name: done(
            server,
            admin,
            f"""mutation($c: UUID!, $n: String!) {{ registerMember(kind: RESIDENT, name: $n,
            communityId: $c) {{ {RECEIPT} }} }}""",
            c=community,
            n=name,
        )["id"]
        for name in names
    }
    token = create_token(server.database_url, Role.COMMUNITY, [community], "网格员周平")[1]
    done(
        server,
        token,
        f"""mutation($c: UUID!) {{ raiseNeed(communityId: $c, raisedBy: "刘阿姨",
        category: "扶老帮困", place: "3号楼2单元",
        description: "楼道灯坏了三天,老人晚上上下楼不方便") {{ {RECEIPT} }} }}""",
        c=community,
    )
    oil = done(
        server,
        admin,
        f"""mutation($c: UUID!) {{ listItem(communityId: $c, name: "食用油", price: "5")
        {{ {RECEIPT} }} }}""",
        c=community,
    )["id"]
    for donor, quantity in (("区财政局", 20), ("春晖超市", 6), ("区财政局", 10)):
        done(
            server,
            admin,
            f"""mutation($i: UUID!, $q: Int!, $d: String!) {{ restockItem(itemId: $i,
            quantity: $q, donor: $d) {{ {RECEIPT} }} }}""",
            i=oil,
            q=quantity,
            d=donor,
        )
    now = datetime.now(UTC).replace(microsecond=0)
    publish = f"""mutation($c: UUID!, $t: String!, $cat: String!, $s: DateTime!, $e: DateTime!,
      $n: Int!, $p: String) {{ publishTask(communityId: $c, title: $t, category: $cat,
      startsAt: $s, endsAt: $e, capacity: $n, place: $p) {{ {RECEIPT} }} }}"""
    tomorrow = (now + CST_OFFSET).date() + timedelta(days=1)
    nine = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 1, tzinfo=UTC)  # 09:00 CST

    def task(title: str, category: str, start: datetime, end: datetime, n: int) -> str:
        return str(
            done(
                server,
                token,
                publish,
                c=community,
                t=title,
                cat=category,
                s=at(start),
                e=at(end),
                n=n,
                p="社区活动室",
            )["id"]
        )

    tasks = {
        "visit": task("周末敬老院探访", "扶老帮困", nine, nine + timedelta(hours=2), 5),
        "edit": task(
            "垃圾分类宣传",
            "文明宣传",
            nine + timedelta(days=1),
            nine + timedelta(days=1, hours=2),
            4,
        ),
        "cancel": task(
            "义诊咨询", "医疗义诊", nine + timedelta(days=2), nine + timedelta(days=2, hours=3), 3
        ),
        "running": task(
            "小区夜间巡逻", "巡逻", now - timedelta(minutes=10), now + timedelta(minutes=50), 3
        ),
        "served": task(
            "楼道清扫", "清洁卫生", now - timedelta(hours=3), now - timedelta(hours=1), 3
        ),
        "old": task(
            "旧衣回收",
            "文明宣传",
            now - timedelta(days=20, hours=2),
            now - timedelta(days=20),
            2,
        ),
    }
    claim = f"""mutation($t: UUID!, $m: UUID!) {{ claimTask(taskId: $t, memberId: $m)
      {{ {RECEIPT} }} }}"""
    services = {}
    for key, who in (
        ("visit", "王秀英"),
        ("visit", "李建国"),
        ("running", "赵敏"),
        ("served", "王秀英"),
        ("served", "李建国"),
        ("served", "陈静"),
        ("old", "赵敏"),
    ):
        services[key, who] = done(server, token, claim, t=tasks[key], m=members[who])["id"]
    sheet = f"""mutation($s: UUID!, $at: DateTime!) {{ IN: checkIn(serviceId: $s, at: $at)
      {{ {RECEIPT} }} }}"""
    old = services["old", "赵敏"]  # twenty days ago, never rated: still in the queue
    done(server, token, sheet, s=old, at=at(now - timedelta(days=20, hours=2)))
    done(
        server,
        token,
        sheet.replace("IN: checkIn", "OUT: checkOut"),
        s=old,
        at=at(now - timedelta(days=20)),
    )
    for who in ("王秀英", "李建国"):
        served = services["served", who]
        done(server, token, sheet, s=served, at=at(now - timedelta(hours=3)))
        done(
            server,
            token,
            sheet.replace("IN: checkIn", "OUT: checkOut"),
            s=served,
            at=at(now - timedelta(hours=1, minutes=5)),
        )
    return {
        "community": community,
        "token": token,
        "members": members,
        "tasks": tasks,
        "running_start": now - timedelta(minutes=10),
    }


def wait(driver: Any, what: Callable[[], Any], timeout: float = 20) -> Any:
    """What `what` answers once it answers something true; fails with the page's message."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = what()
        except (NoSuchElementException, StaleElementReferenceException, StopIteration):
            # not drawn yet, or drawn again under us
            answer = None
        if answer:
            return answer
        assert time.monotonic() < deadline, driver.find_element(By.ID, "message").text
        time.sleep(0.1)


def open_screen(driver: Any, name: str) -> None:
    """Open one of the workbench's screens, once it is read again and shown."""
    driver.find_element(By.CSS_SELECTOR, f"nav [data-screen={name}]").click()
    wait(driver, lambda: driver.find_element(By.ID, name).is_displayed())


def text_of(driver: Any, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def printed(driver: Any, what: str, name: str) -> str:
    """The text of what the page prints for `what` ("roster" or "slip", as its print buttons
    set it) on A4, the PDF kept in build/screenshots/."""
    driver.execute_script("document.body.dataset.print = arguments[0]", what)
    pdf = SCREENSHOTS / f"{name}.pdf"
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.write_bytes(base64.b64decode(driver.print_page(PrintOptions())))
    return subprocess.run(
        [require("pdftotext", "poppler-utils"), "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def scanned(png: bytes) -> str:
    zbarimg = require("zbarimg", "zbar-tools")
    read = subprocess.run(
        [zbarimg, "--quiet", "--raw", "-"], input=png, capture_output=True, check=True
    )
    return read.stdout.decode().strip()


def test_a_worker_runs_the_community_from_the_workbench(
    server: Server, desk: dict[str, Any]
) -> None:
    with chromium() as driver:
        driver.set_window_size(1280, 900)
        driver.get(f"{server.base}/workbench")
        driver.find_element(By.ID, "token").send_keys(desk["token"])
        driver.find_element(By.ID, "save-token").click()

        # 群众点单: the need, raised by a name, accepted with one click.
        card = wait(driver, lambda: driver.find_element(By.CSS_SELECTOR, "[data-need]"))
        assert "楼道灯坏了三天" in card.text and "刘阿姨" in card.text and "待受理" in card.text
        assert text_of(driver, "#community") == "春晖社区"
        screenshot(driver, "workbench-01-needs")
        card.find_element(By.XPATH, ".//button[text()='受理']").click()
        wait(driver, lambda: "已受理" in text_of(driver, "[data-need] .tag"))
        assert "受理" in text_of(driver, "[data-need] .steps")

        # 任务: who claimed each task, places left, today's roster; edit and cancel.
        open_screen(driver, "tasks")
        visit = wait(
            driver,
            lambda: driver.find_element(By.CSS_SELECTOR, f"[data-task='{desk['tasks']['visit']}']"),
        )
        assert "李建国、王秀英" in visit.text and "2/5" in visit.text and "余 3 个" in visit.text
        assert "修改" not in visit.text  # claimed: no longer editable
        day = (desk["running_start"] + CST_OFFSET).date().isoformat()  # today, in Beijing
        driver.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change'))",
            driver.find_element(By.ID, "roster-day"),
            day,
        )
        roster = wait(driver, lambda: text_of(driver, "#roster"))
        assert "小区夜间巡逻" in roster and "赵敏" in roster and "已认领" in roster
        sheet = printed(driver, "roster", "workbench-roster")
        assert "春晖社区" in sheet and "服务名单" in sheet and "赵敏" in sheet
        assert "近期任务" not in sheet and "周末敬老院探访" not in sheet  # the day's roster alone
        screenshot(driver, "workbench-02-tasks")

        # A refusal is the ledger's own Chinese message; a time typed wrong is said before sending.
        driver.find_element(By.ID, "new-task").click()
        for field, value in (
            ("t-title", "广场舞"),
            ("t-category", "跳广场舞"),
            ("t-starts", "9点"),
        ):
            driver.find_element(By.ID, field).clear()
            driver.find_element(By.ID, field).send_keys(value)
        driver.find_element(By.ID, "t-save").click()
        wait(driver, lambda: "开始时间须写成“时:分”" in text_of(driver, "#message"))
        driver.find_element(By.ID, "t-starts").clear()
        driver.find_element(By.ID, "t-starts").send_keys("19:30")
        driver.find_element(By.ID, "t-save").click()
        wait(driver, lambda: "积分规则中没有服务类别“跳广场舞”" in text_of(driver, "#message"))
        driver.find_element(By.ID, "t-close").click()

        edit = driver.find_element(By.CSS_SELECTOR, f"[data-task='{desk['tasks']['edit']}']")
        edit.find_element(By.XPATH, ".//button[text()='修改']").click()
        capacity = driver.find_element(By.ID, "t-capacity")
        capacity.clear()
        capacity.send_keys("8")
        driver.find_element(By.ID, "t-save").click()
        wait(driver, lambda: "0/8" in text_of(driver, f"[data-task='{desk['tasks']['edit']}']"))

        cancel = driver.find_element(By.CSS_SELECTOR, f"[data-task='{desk['tasks']['cancel']}']")
        cancel.find_element(By.XPATH, ".//button[text()='取消任务']").click()
        cancel.find_element(By.XPATH, ".//button[text()='确认取消']").click()
        wait(driver, lambda: "请填写取消原因" in text_of(driver, "#message"))
        cancel.find_element(By.CSS_SELECTOR, "input").send_keys("医生临时有事")
        cancel.find_element(By.XPATH, ".//button[text()='确认取消']").click()
        wait(
            driver,
            lambda: "已取消" in text_of(driver, f"[data-task='{desk['tasks']['cancel']}'] .tag"),
        )

        # 现场签到码: the running task's code in large digits, the QR saying the same.
        open_screen(driver, "site")
        wait(
            driver,
            lambda: driver.find_element(
                By.CSS_SELECTOR, f"[data-site='{desk['tasks']['running']}']"
            ),
        ).click()
        code = wait(driver, lambda: text_of(driver, "#fs-code"))
        assert re.fullmatch(r"\d{6}", code), code
        assert text_of(driver, "#fs-task") == "小区夜间巡逻"
        assert "距结束还有" in text_of(driver, "#fs-time")
        assert 0 < int(text_of(driver, "#fs-seconds")) <= 60
        digits = driver.find_element(By.ID, "fs-code")
        assert float(digits.value_of_css_property("font-size").removesuffix("px")) >= 64
        screenshot(driver, "workbench-03-site-code", codes=(code,))
        assert code in scanned(driver.find_element(By.ID, "fs-qr").screenshot_as_png)
        driver.find_element(By.ID, "fs-close").click()

        # 签到表录入: 陈静's times from the paper sheet (she came after all).
        open_screen(driver, "sheet")
        select = wait(driver, lambda: driver.find_element(By.ID, "sheet-task"))
        driver.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change'))",
            select,
            desk["tasks"]["served"],
        )
        row = wait(
            driver,
            lambda: next(
                r
                for r in driver.find_elements(By.CSS_SELECTOR, "[data-service]")
                if "陈静" in r.text
            ),
        )
        row.find_element(By.XPATH, ".//button[text()='录入签到']").click()
        wait(driver, lambda: "已录入陈静的签到时间" in text_of(driver, "#message"))
        screenshot(driver, "workbench-04-sheet")

        # 一事一评: two checked out await rating; 陈静, never checked out, is shown as such.
        open_screen(driver, "rating")
        queue = wait(
            driver,
            lambda: driver.find_element(
                By.CSS_SELECTOR, f"[data-rating-task='{desk['tasks']['served']}']"
            ),
        )
        assert "王秀英" in queue.text and "李建国" in queue.text and "未签退" in queue.text
        assert "1.9 小时" in queue.text or "约 1.9 小时" in queue.text
        screenshot(driver, "workbench-05-rating")
        queue.find_element(By.CSS_SELECTOR, "[data-bulk=EXCELLENT]").click()
        wait(driver, lambda: "2 人评为很好" in text_of(driver, "#message"))
        left = text_of(driver, "#rating-list")
        assert "王秀英" not in left and "陈静" in left
        old = text_of(driver, f"[data-rating-task='{desk['tasks']['old']}']")
        assert "旧衣回收" in old and "赵敏" in old and "2.0 小时" in old

        # 社区看板: the board with names, the store, the satisfaction rate, the signals.
        open_screen(driver, "board")
        board = wait(driver, lambda: text_of(driver, "#board-body"))
        assert "居民满意率" in board and "小区夜间巡逻" in board and "形式主义预警" in board
        assert "食用油 5.0 36" in board  # name, price, stock
        assert "区财政局 食用油 30 件" in board and "春晖超市 食用油 6 件" in board
        screenshot(driver, "workbench-06-board")

        # 成员登录码: a one-time code for 王秀英 as a QR and a slip; her phone signs in with
        # it; the worker sees the phone and revokes it.
        open_screen(driver, "codes")
        driver.find_element(By.ID, "code-find").send_keys("王秀英")
        member = desk["members"]["王秀英"]
        wait(
            driver, lambda: driver.find_element(By.CSS_SELECTOR, f"[data-issue='{member}']")
        ).click()
        code = wait(driver, lambda: text_of(driver, "#slip-code"))
        assert "王秀英" in text_of(driver, "#slip-name")
        assert scanned(driver.find_element(By.ID, "slip-qr").screenshot_as_png).count(code) == 1
        screenshot(driver, "workbench-07-sign-in-code", codes=(code,))
        slip = printed(driver, "slip", "workbench-sign-in-slip")
        assert "志愿服务登录条" in slip and "王秀英" in slip and code in slip.replace(" ", "")
        assert "查找成员" not in slip and "签发登录码" not in slip  # only the slip is printed
        signed = server.gql(
            None,
            """mutation($c: String!) { activateSignIn(code: $c, device: "王秀英的手机") {
            __typename ... on MemberSession { memberName } ... on Problem { message } } }""",
            c=code,
        )["data"]["activateSignIn"]
        assert signed == {"__typename": "MemberSession", "memberName": "王秀英"}
        row = driver.find_element(By.CSS_SELECTOR, f"[data-member='{member}']")
        row.find_element(By.XPATH, ".//button[text()='查看设备']").click()
        wait(driver, lambda: "王秀英的手机" in row.text)
        row.find_element(By.XPATH, ".//button[text()='撤销']").click()
        wait(driver, lambda: "已撤销" in row.text)

        # Usable at 1024 px: nothing runs off the side.
        driver.set_window_size(1024, 768)
        open_screen(driver, "tasks")
        wait(driver, lambda: text_of(driver, "#task-list"))
        assert driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"
        )
        screenshot(driver, "workbench-08-tasks-1024")
        assert requested_hosts(driver) == {"127.0.0.1"}
