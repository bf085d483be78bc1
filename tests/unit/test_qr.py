"""The QR codes the pages show are full QR codes, whatever the length of the code: a short one
(a site code's six digits, an eight-letter sign-in code) must not become a Micro QR, which
phones' scanners and zbar do not read."""

from __future__ import annotations

import re

import pytest

from api.qr import qr_svg


@pytest.mark.parametrize("code", ["463287", "ABCDEFGH"])
def test_a_short_code_is_a_full_qr_code(code: str) -> None:
    view = re.search(r'viewBox="0 0 (\d+) (\d+)"', qr_svg(code, fluid=True))
    assert view, "a fluid code has a viewBox"
    modules = int(view.group(1)) // 4 - 2 * 2  # 4 px a module, a quiet zone of two
    assert modules >= 21  # version 1, the smallest full QR code; a Micro QR has 11 to 17
