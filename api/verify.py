"""The public verification page of a service certificate: ``/verify/<number>`` (the QR
code on the certificate adds ``?d=<digest>``). No token: anyone holding the paper may
check it. It shows whether the certificate is genuine and what it states, and no more of
the person than the certificate itself shows (the masked name)."""

from __future__ import annotations

import base64
import dataclasses
import html
import re

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from audit import Anchoring, anchor, anchored_check
from documents.certificate import PAPER_UNCHECKED, served_in
from documents.labels import CLASS_NAMES
from documents.pdf import figure
from ledger.domain.certificate import (
    CertificateCheck,
    CertificateStatus,
    Figures,
    UnknownCertificate,
    check_number,
)
from ledger.domain.values import CST, CategoryClass

DIGEST = re.compile(r"[0-9a-f]{64}")
MAX_PROVEN = 200
"""At most this many of a certificate's events are proven against the checkpoint for
one visit of the public page (its own event always), evenly spread over the list."""
HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
}
PROOF_NOTE = (
    "本页依据账本中该证明所列的服务评价事件重新计算证明上的数字并与之比对,"
    "并用账本的固定公钥核验最新签名检查点:出具事件与所依据的每个事件,"
    "按其现存内容重新计算的默克尔叶子须经包含证明落在检查点签名的树根之下。"
)
WELCOME = (
    "输入志愿服务证明上的编号,或用手机扫描证明上的二维码,"
    "即可核验该证明是否真实、与账本记录是否一致。"
)
PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>志愿服务证明核验</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 0;
  background: #f4f4f4; color: #222; }}
main {{ max-width: 40rem; margin: 0 auto; padding: 1.5rem; background: #fff; min-height: 100vh; }}
h1 {{ font-size: 1.5rem; margin: 0 0 1rem; }}
.status {{ padding: 1rem; border-radius: .4rem; font-size: 1.25rem; margin-bottom: 1rem; }}
.genuine {{ background: #e6f4ea; color: #1b5e20; border: 2px solid #2e7d32; }}
.altered {{ background: #fdecea; color: #b71c1c; border: 2px solid #c62828; }}
.partial {{ background: #fff8e1; color: #5d4037; border: 2px solid #f9a825; }}
.unknown {{ background: #eceff1; color: #37474f; border: 2px solid #78909c; }}
table {{ border-collapse: collapse; width: 100%; margin: 1rem 0; }}
th, td {{ border: 1px solid #ccc; padding: .45rem .6rem; text-align: left; }}
th {{ background: #fafafa; width: 9rem; font-weight: normal; color: #555; }}
.mono {{ font-family: monospace; word-break: break-all; font-size: .85rem; }}
ul.problems {{ color: #b71c1c; }}
.note {{ color: #666; font-size: .85rem; }}
form {{ margin-top: 1.5rem; display: flex; gap: .5rem; }}
input {{ flex: 1; font-size: 1rem; padding: .4rem; }}
</style></head><body><main>
<h1>志愿服务证明核验</h1>
{body}
<form method="get" action="/verify"><input name="number" maxlength="40"
 placeholder="输入证明编号,如 ZYFW-2026-…" aria-label="证明编号"><button>核验</button></form>
</main></body></html>
"""


def _rows(pairs: list[tuple[str, str]], mono: tuple[str, ...] = ()) -> str:
    return "".join(
        f"<tr><th>{html.escape(k)}</th><td{' class=mono' if k in mono else ''}>"
        f"{html.escape(v)}</td></tr>"
        for k, v in pairs
    )


def _figures(f: Figures) -> list[tuple[str, str]]:
    return [
        ("服务次数", f"{f.services} 次"),
        ("服务时长", f"{figure(f.hours)} 小时"),
        ("服务积分", f"{figure(f.points)} 分"),
        (CLASS_NAMES[CategoryClass.ROUTINE], f"{figure(f.routine_hours)} 小时"),
        (CLASS_NAMES[CategoryClass.SKILLED], f"{figure(f.skilled_hours)} 小时"),
        (CLASS_NAMES[CategoryClass.HARD], f"{figure(f.hard_hours)} 小时"),
    ]


def _anchoring(anchored: Anchoring | None) -> str:
    if anchored is None:
        return ""
    point = anchored.checkpoint
    rows: list[tuple[str, str]] = []
    if point is not None:
        rows = [
            ("日志", point.origin),
            ("检查点树大小", f"{point.size} 个事件"),
            ("检查点根哈希", base64.b64encode(point.root).decode()),
        ]
    rows += [
        ("已由检查点证明", f"{len(anchored.proven)} 个事件"),
        ("待下一检查点收录", f"{len(anchored.pending)} 个事件"),
    ]
    if anchored.failed:
        rows.append(("与签名检查点不符", "、".join(str(p) for p in anchored.failed)))
    return (
        '<h2>透明日志</h2><table id="anchoring">'
        + _rows(rows, mono=("日志", "检查点根哈希"))
        + "</table>"
    )




def page_body(
    check: CertificateCheck, anchored: Anchoring | None = None, *, paper_checked: bool = True
) -> str:
    """``paper_checked``: the visit brought the digest printed in the certificate's QR
    code, so the paper's content was compared too (without it only the ledger's side is)."""
    if check.status is CertificateStatus.UNKNOWN or check.statement is None:
        return (
            '<div class="status unknown" id="status">查无此证明:账本中没有编号为 '
            f"<span class=mono>{html.escape(check.number)}</span> 的志愿服务证明。</div>"
            '<p class="note">请核对证明上的编号;伪造的编号无法在此查到。</p>'
        )
    s = check.statement
    genuine = check.status is CertificateStatus.GENUINE
    status = (
        '<div class="status genuine" id="status">真实有效:本证明与账本记录一致。</div>'
        if genuine and paper_checked
        else f'<div class="status partial" id="status">{PAPER_UNCHECKED}</div>'
        if genuine
        else '<div class="status altered" id="status">核验未通过:本证明与账本记录不符。</div>'
        + '<ul class="problems">'
        + "".join(f"<li>{html.escape(p)}</li>" for p in check.problems)
        + "</ul>"
    )
    issued = check.issued_at.astimezone(CST).strftime("%Y-%m-%d %H:%M") if check.issued_at else ""
    stated = [
        ("证明编号", s.number),
        ("持证人", s.name_masked),
        ("出具社区", s.community),
        *([("服务社区", served_in(s))] if s.places else []),
        ("服务期间", f"{s.start.isoformat()} 至 {s.end.isoformat()}"),
        *_figures(s.figures),
        ("出具时间", f"{issued}(北京时间)"),
        ("出具事件编号", str(check.issued_position)),
        ("依据的服务事件", f"{len(s.positions)} 个"),
        ("内容摘要", check.digest or ""),
    ]
    recomputed = ""
    if not genuine and check.recomputed is not None:
        recomputed = "<h2>账本事件重新计算的结果</h2><table>" + _rows(_figures(check.recomputed))
        recomputed += "</table>"
    return (
        status
        + "<h2>证明所述</h2><table>"
        + _rows(stated, mono=("证明编号", "内容摘要"))
        + "</table>"
        + recomputed
        + _anchoring(anchored)
        + f'<p class="note">{PROOF_NOTE}</p>'
    )


async def verify_page(request: Request) -> Response:
    number = request.path_params.get("number") or request.query_params.get("number", "")
    if not number.strip():  # the form alone
        return HTMLResponse(PAGE.format(body=f'<p class="note">{WELCOME}</p>'), headers=HEADERS)
    if "number" not in request.path_params:
        try:
            return RedirectResponse(f"/verify/{check_number(number)}", status_code=303)
        except UnknownCertificate:
            pass
    state = request.app.state
    ledger = state.ledger
    check: CertificateCheck = await anyio.to_thread.run_sync(ledger.check_certificate, number)
    anchored = None
    if check.statement is not None and check.issued_position is not None:
        listed = check.statement.positions
        step = max(1, -(-len(listed) // MAX_PROVEN))  # evenly spread, at most MAX_PROVEN
        events = [check.issued_position, *listed[::step]]
        anchored = await anyio.to_thread.run_sync(anchor, ledger, events, state.verifier)
        check = anchored_check(check, anchored)
    presented = request.query_params.get("d")
    if (
        presented is not None
        and check.status is CertificateStatus.GENUINE
        and (not DIGEST.fullmatch(presented) or presented != check.digest)
    ):
        check = dataclasses.replace(
            check,
            status=CertificateStatus.ALTERED,
            problems=["二维码中的内容摘要与账本记录的不符:纸面证明的内容可能已被改动"],
        )
    status = 404 if check.status is CertificateStatus.UNKNOWN else 200
    body = page_body(check, anchored, paper_checked=presented is not None)
    return HTMLResponse(PAGE.format(body=body), status_code=status, headers=HEADERS)
