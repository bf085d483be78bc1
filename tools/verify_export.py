"""离线核验志愿服务积分账本的导出文件(用你固定保存的账本公钥)。

Check a volunteer-ledger export offline, against the ledger's public key you pinned.

Needs only Python 3.11+ and the ``cryptography`` package; it imports nothing of the
ledger. It follows docs/audit-format.md step by step:

    python verify_export.py EXPORT.jsonl --key 'volunteer-ledger.local/ledger+1a2b3c4d+AX...'
    python verify_export.py CERT.jsonl --key '…' --certificate ZYFW-2026-XXXXXXXXXXXX

It prints what was proven and exits 0, or names the first thing that failed and exits 1;
what it prints is Chinese, for the auditor who reads it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import struct
import sys
from decimal import Decimal
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EXPORT_FORMAT = "volunteer-ledger-export/2"
DASH = "\u2014 "


class Rejected(Exception):
    pass


# --- the pinned key and signed notes (c2sp.org/signed-note, Ed25519) ------------------


def parse_vkey(vkey: str) -> tuple[str, bytes, bytes]:
    """(key name, key ID, public key) of a verifier key ``<name>+<hex ID>+<base64>``."""
    try:
        name, hex_id, material = vkey.strip().split("+", 2)
        raw = base64.b64decode(material, validate=True)
        key_id = bytes.fromhex(hex_id)
    except (ValueError, binascii.Error):
        raise Rejected("固定公钥的格式应为 <名称>+<密钥编号>+<base64 公钥>") from None
    if len(raw) != 33 or raw[0] != 0x01:
        raise Rejected("固定公钥不是 Ed25519 公钥")
    if hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4] != key_id:
        raise Rejected("固定公钥的密钥编号与公钥不符")
    return name, key_id, raw[1:]


def open_note(note: str, vkey: tuple[str, bytes, bytes]) -> list[str]:
    """The lines of a note's text, if the pinned key signed it."""
    name, key_id, public = vkey
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise Rejected("签名文本没有签名")
    text = note[: cut + 1]
    signatures = []
    for line in note[cut + 2 : -1].split("\n"):
        if not line.startswith(DASH):
            raise Rejected("签名行格式不对")
        signer, _, encoded = line[len(DASH) :].partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise Rejected("签名不是 base64") from None
        if signer == name and raw[:4] == key_id:
            signatures.append(raw[4:])
    if not signatures:
        raise Rejected(f"签名文本未经固定公钥 {name} 签名")
    for signature in signatures:
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(signature, text.encode())
        except InvalidSignature:
            raise Rejected("签名文本的签名不能用固定公钥核验通过") from None
    return text.split("\n")[:-1]


# --- RFC 6962 ---------------------------------------------------------------------


def leaf_data(line: dict[str, Any]) -> bytes:
    topic = line["topic"].encode()
    state = line["state"].encode()
    return b"".join(
        (
            struct.pack(">Q", line["position"]),
            UUID(line["originator_id"]).bytes,
            struct.pack(">QI", line["originator_version"], len(topic)),
            topic,
            struct.pack(">I", len(state)),
            state,
        )
    )


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """RFC 9162, section 2.1.3.2."""
    if not 0 <= index < size:
        raise Rejected(f"叶子 {index} 不在大小为 {size} 的树中")
    fn, sn, value = index, size - 1, leaf
    for p in proof:
        if sn == 0 or len(p) != 32:
            raise Rejected("包含证明格式不对")
        if fn & 1 or fn == sn:
            value = hashlib.sha256(b"\x01" + p + value).digest()
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            value = hashlib.sha256(b"\x01" + value + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Rejected("包含证明过短")
    return value


# --- the export -------------------------------------------------------------------


def verify(lines: list[str], vkey: str) -> str:
    pinned = parse_vkey(vkey)
    if not lines:
        raise Rejected("导出文件为空")
    header = json.loads(lines[0])
    if header.get("format") != EXPORT_FORMAT:
        raise Rejected(f"不是 {EXPORT_FORMAT} 格式的导出文件")
    origin, size_text, root_text = open_note(header["checkpoint"], pinned)[:3]
    if origin != pinned[0]:
        raise Rejected("检查点属于另一个账本")
    size, root = int(size_text), base64.b64decode(root_text)
    tag, s_origin, s_size, s_count, s_digest = open_note(header["statement"], pinned)
    if (tag, s_origin, s_size) != (EXPORT_FORMAT, origin, size_text):
        raise Rejected("导出声明与其检查点不符")
    manifest = hashlib.sha256()
    previous = -1
    events = [json.loads(line) for line in lines[1:] if line.strip()]
    for number, event in enumerate(events, start=2):
        index = event["leaf_index"]
        if index <= previous:
            raise Rejected(f"第 {number} 行:叶子序号须递增")
        previous = index
        leaf = hashlib.sha256(b"\x00" + leaf_data(event)).digest()
        proof = [base64.b64decode(h, validate=True) for h in event["proof"]]
        if root_from_inclusion(index, size, leaf, proof) != root:
            raise Rejected(f"第 {number} 行(位置 {event['position']})不是检查点所含的那条事件")
        manifest.update(struct.pack(">Q", index) + leaf)
    if len(events) != int(s_count) or base64.b64encode(manifest.digest()).decode() != s_digest:
        raise Rejected("导出文件中有行被删去、增添或调换了顺序")
    return f"已证明 {len(events)} 条事件都在账本 {origin} 大小为 {size} 的树中"


# --- a service certificate (--certificate NUMBER) --------------------------------------

CERTIFICATE_FORMAT = "volunteer-ledger-certificate/1"
PLACES_FORMAT = "volunteer-ledger-certificate/2"
"""A certificate that states the communities its services were done in (``places``)."""
CLASSES = ("ROUTINE", "SKILLED", "HARD")


def plain(value: Any) -> Any:
    """The ledger's JSON with its own types unwrapped ({"_type_": …, "_data_": …})."""
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            return plain(value["_data_"])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def check_certificate(lines: list[str], number: str) -> str:
    """Recompute a certificate from the proven events of its export (run ``verify``
    first): its digest over its content, and its figures from the services it lists."""
    events = [json.loads(line) for line in lines[1:] if line.strip()]
    facts = [
        (e["position"], e["topic"], e["originator_id"], plain(json.loads(e["state"])))
        for e in events
    ]
    issued = [f for _, t, _, f in facts if t.endswith("Certificate.Issued")]
    mine = [f for f in issued if f["statement"]["number"] == number.strip().upper()]
    if len(mine) != 1:
        raise Rejected(f"导出文件中没有证明 {number}")
    st, digest = mine[0]["statement"], mine[0]["digest"]
    figures = st["figures"]
    content = {
        "format": CERTIFICATE_FORMAT,
        "number": st["number"],
        "member_id": str(UUID(st["member_id"])),
        "name_masked": st["name_masked"],
        "community_id": str(UUID(st["community_id"])),
        "community": st["community"],
        "start": st["start"],
        "end": st["end"],
        "services": figures["services"],
        **{k: str(Decimal(figures[k])) for k in ("hours", "points")},
        **{f"{c.lower()}_hours": str(Decimal(figures[f"{c.lower()}_hours"])) for c in CLASSES},
        "positions": st["positions"],
    }
    places = st.get("places") or []
    if places:
        content["format"] = PLACES_FORMAT
        content["places"] = [
            {
                "community_id": str(UUID(p["community_id"])),
                "community": p["community"],
                "services": p["services"],
            }
            for p in places
        ]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if hashlib.sha256(canonical.encode()).hexdigest() != digest:
        raise Rejected("证明的内容与记录的摘要不符")
    member = UUID(st["member_id"])
    claims = [(o, f) for _, t, o, f in facts if t.endswith("Service.Claimed")]
    claimed = {o: UUID(f["member_id"]) for o, f in claims}
    claimed_in = {o: UUID(f["community_id"]) for o, f in claims}
    where: dict[UUID, int] = {}
    reversed_ = {o for _, t, o, _ in facts if t.endswith("Service.Reversed")}
    rated = {p: (o, f["award"]) for p, t, o, f in facts if t.endswith("Service.Rated")}
    hours = dict.fromkeys(CLASSES, Decimal(0))
    points = Decimal(0)
    for position in st["positions"]:
        if position not in rated:
            raise Rejected(f"证明所列的事件 {position} 不是已证明的评价事件")
        service, award = rated[position]
        if claimed.get(service) != member:
            raise Rejected(f"事件 {position} 不是持证人的服务")
        if service in reversed_:
            raise Rejected(f"事件 {position} 的服务已被冲正")
        if not st["start"] <= award["day"] <= st["end"]:
            raise Rejected(f"事件 {position} 不在证明的期间内")
        where[claimed_in[service]] = where.get(claimed_in[service], 0) + 1
        hours[award["category_class"]] += Decimal(award["hours"])
        points += Decimal(award["points"])
    recomputed = {
        "services": len(st["positions"]),
        "hours": sum(hours.values(), Decimal(0)),
        "points": points,
        **{f"{c.lower()}_hours": hours[c] for c in CLASSES},
    }
    stated = {k: (v if k == "services" else Decimal(v)) for k, v in figures.items()}
    if stated != recomputed:
        raise Rejected("证明的数字与所列服务重算的不符")
    if places and where != {UUID(p["community_id"]): p["services"] for p in places}:
        raise Rejected("证明所列的服务社区与所列服务不符")
    return (
        f"证明 {st['number']}:服务 {recomputed['services']} 次,"
        f"{recomputed['hours']} 小时,{recomputed['points']} 分,摘要 {digest}"
    )


def _said(error: Exception) -> str:
    """A refusal's reason; a file that is not what it claims (bad JSON, a missing
    field, a wrong type or encoding) is said so."""
    if isinstance(error, Rejected):
        return str(error)
    if isinstance(error, KeyError):
        return f"文件格式不对:缺少字段 {error}"
    return "文件格式不对:不是有效的 JSON,或字段的类型、编码不对"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="导出文件(JSON Lines)")
    parser.add_argument("--key", required=True, help="你固定保存的账本公钥")
    parser.add_argument("--certificate", help="同时由导出文件重算这份志愿服务证明")
    args = parser.parse_args(argv)
    with open(args.export, encoding="utf-8") as lines:
        content = lines.read().splitlines()
    try:
        print(verify(content, args.key))
        if args.certificate:
            print(check_certificate(content, args.certificate))
    except (Rejected, ValueError, KeyError, TypeError, binascii.Error) as error:
        print(f"核验未通过:{_said(error)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
