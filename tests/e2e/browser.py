"""A real headless browser for the pages: Debian's chromium, driven by selenium through
Debian's chromedriver, with every host but this machine's cut off."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tests.readable import unreadable

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
MISSING = (
    "找不到浏览器:页面测试需要 Debian 的 chromium 和 chromium-driver"
    "(apt-get install chromium chromium-driver fonts-noto-cjk;.ci/run 会安装)"
)


@contextmanager
def chromium(*flags: str) -> Iterator[Any]:
    """The browser, with `flags` added to its command line (e.g. a fake camera)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        raise RuntimeError(MISSING)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        "--lang=zh-CN",
        # Nothing but this machine resolves: a page that needs the internet fails here.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        *flags,
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def phone(driver: Any, width: int = 390, height: int = 844) -> None:
    """Make the page a phone's: its width and height in CSS pixels, a mobile viewport and
    touch input, screenshots at that width."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
    )
    driver.execute_cdp_cmd(
        "Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5}
    )


CAMERA = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
"""A camera that shows a test picture, allowed without asking."""


def place(driver: Any, origin: str, latitude: float, longitude: float, accuracy: float) -> None:
    """The phone is at this place (allowed to tell the page at `origin`)."""
    driver.execute_cdp_cmd(
        "Browser.grantPermissions", {"permissions": ["geolocation"], "origin": origin}
    )
    driver.execute_cdp_cmd(
        "Emulation.setGeolocationOverride",
        {"latitude": latitude, "longitude": longitude, "accuracy": accuracy},
    )


def require(tool: str, package: str) -> str:
    """The path of a command-line tool the page tests use, or a Chinese error naming
    the Debian package that has it."""
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(
            f"找不到 {tool}:页面测试需要 Debian 的 {package}"
            f"(apt-get install {package};.ci/run 会安装)"
        )
    return path


def requested_hosts(driver: Any) -> set[str]:
    """Every host the page asked for since the last call."""
    hosts = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if url.startswith(("http:", "https:", "ws:", "wss:")):
                hosts.add(urlparse(url).hostname or "")
    return hosts


def screenshot(
    driver: Any, name: str, *, readable: bool = True, codes: tuple[str, ...] = ()
) -> Path:
    """A picture of the page, to look at; what the page shows people is first checked to hold
    no id and no English word, but for ``codes`` shown to be typed (a kiosk code, a site code)
    and what the page marks as a code (``readable=False`` for a page made for programmers)."""
    if readable:
        # Codes a page marks as such (class "mono" or "code", or data-code) are for typing,
        # scanning or a checker's tools, and are left out.
        text = driver.execute_script(
            """let text = document.body.innerText;
            for (const e of document.querySelectorAll(".mono, .code, [data-code]")) {
              if (e.innerText) text = text.replace(e.innerText, "");
            }
            return text;"""
        )
        for code in codes:
            text = text.replace(code, "")
        assert not unreadable(text), (name, unreadable(text))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
