"""Member codes for the kiosk (积分码): a card's code and a phone's short-lived code.

A card code is random: nothing about the person can be derived from it, and only a
keyed hash of it is recorded. A phone code needs no write: it carries the member's
opaque reference (random, issued with the card) and the moment it expires,
authenticated with an HMAC, so the kiosk checks it with the key alone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from ledger.domain.errors import LedgerError

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""32 characters without look-alikes (no 0, 1, I, O); all in a QR code's alphanumeric mode."""
CARD_CODE_LENGTH = 20
"""A card code: 20 characters, 100 random bits."""
REFERENCE_BYTES = 8
"""A member's phone-code reference: random, issued with each card."""
EXPIRES_BYTES = 4
MAC_BYTES = 10
PHONE_CODE_BYTES = REFERENCE_BYTES + EXPIRES_BYTES + MAC_BYTES
PHONE_CODE_LENGTH = (PHONE_CODE_BYTES * 8 + 4) // 5
"""A phone code: 36 characters."""
CODE_INPUT = 64
"""A code as scanned or typed, before separators are taken out."""
PHONE_CODE_SECONDS = 120
"""How long a phone code is valid."""
_SEPARATORS = str.maketrans("", "", " -")


class UnknownCode(LedgerError):
    """Unknown, superseded, expired, malformed or out of scope: all told alike."""

    code = "UNKNOWN_CODE"
    template = "积分码无效或已过期,请重新出示积分卡或在手机上刷新积分码"


class NoCard(LedgerError):
    code = "NO_CARD"
    template = "尚未发放积分卡,请先到社区领取积分卡后再使用手机积分码"


@dataclass(frozen=True)
class PhoneCode:
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class CodeLookup:
    """What a valid code points at: a card's hash or a phone code's reference."""

    code_hash: str | None = None
    reference: str | None = None


def code_key(id_hash_key: bytes) -> bytes:
    """The key of member codes, derived from the ledger's ID-hash key."""
    return hmac.new(id_hash_key, b"volunteer-ledger member codes", hashlib.sha256).digest()


def new_card_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CARD_CODE_LENGTH))


def new_reference() -> str:
    return secrets.token_hex(REFERENCE_BYTES)


def hash_card_code(code: str, key: bytes) -> str:
    """The keyed hash of a card code (``key`` from ``code_key``): what the ledger keeps."""
    return hmac.new(key, b"card:" + code.encode(), hashlib.sha256).hexdigest()


def phone_code(reference: str, key: bytes, now: datetime) -> PhoneCode:
    """A code valid for ``PHONE_CODE_SECONDS`` from ``now``."""
    expires = int(now.timestamp()) + PHONE_CODE_SECONDS
    body = bytes.fromhex(reference) + expires.to_bytes(EXPIRES_BYTES, "big")
    raw = body + _mac(body, key)
    return PhoneCode(_encode(raw, PHONE_CODE_LENGTH), datetime.fromtimestamp(expires, UTC))


def read_code(code: str, key: bytes, now: datetime) -> CodeLookup:
    """Check a code's length and characters before anything else, then what it says;
    anything wrong is ``UnknownCode``."""
    if not isinstance(code, str) or len(code) > CODE_INPUT:
        raise UnknownCode()
    cleaned = code.strip().upper().translate(_SEPARATORS)
    if not cleaned or any(c not in ALPHABET for c in cleaned):
        raise UnknownCode()
    if len(cleaned) == CARD_CODE_LENGTH:
        return CodeLookup(code_hash=hash_card_code(cleaned, key))
    if len(cleaned) != PHONE_CODE_LENGTH:
        raise UnknownCode()
    raw = _decode(cleaned, PHONE_CODE_BYTES)
    body, mac = raw[: REFERENCE_BYTES + EXPIRES_BYTES], raw[REFERENCE_BYTES + EXPIRES_BYTES :]
    if not hmac.compare_digest(mac, _mac(body, key)):
        raise UnknownCode()
    expires = int.from_bytes(body[REFERENCE_BYTES:], "big")
    if not now.timestamp() < expires:
        raise UnknownCode()
    return CodeLookup(reference=body[:REFERENCE_BYTES].hex())


def _mac(body: bytes, key: bytes) -> bytes:
    return hmac.new(key, b"phone:" + body, hashlib.sha256).digest()[:MAC_BYTES]


def _encode(raw: bytes, length: int) -> str:
    number = int.from_bytes(raw, "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def _decode(code: str, size: int) -> bytes:
    number = 0
    for c in code:
        number = number * 32 + ALPHABET.index(c)
    if number >= 1 << (size * 8):
        raise UnknownCode()
    return number.to_bytes(size, "big")
