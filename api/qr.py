"""A member code as a QR code (SVG, drawn here: nothing comes from another host)."""

from __future__ import annotations

import segno


def qr_svg(code: str, *, fluid: bool = False) -> str:
    """An inline SVG of ``code`` (error correction M, a quiet zone of two modules):
    4 px a module, or ``fluid`` (a viewBox and no size) to fill what the page gives it.
    Always a full QR code: a short code (a site code's six digits) would otherwise become a
    Micro QR, which phones' scanners and zbar do not read."""
    svg: str = segno.make_qr(code, error="m").svg_inline(scale=4, border=2, omitsize=fluid)
    return svg
