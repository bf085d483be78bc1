"""Sign-in without an administrator: a one-time code a community hands a member
(on the counter's screen as a QR code, or on a printed slip), which the member's
phone exchanges once for a token of its own.

The code is random, eight characters easy to read out (no 0/O/1/I); the ledger keeps
only its keyed hash, as the id of the code's record. Unknown, used and expired codes
are told alike.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.codes import ALPHABET
from ledger.domain.errors import SignInCodeInvalid
from ledger.domain.text import clean_text
from ledger.domain.values import Context, stable_id

SIGN_IN_CODE_LENGTH = 8
"""40 random bits: guessing one of the codes in force takes far more tries than the
server answers in a day."""
SIGN_IN_CODE_HOURS = 24
DEVICE_LABEL = 40
"""A phone's own label (手机 2026-12-08), as the member's list of devices shows it."""
_SEPARATORS = str.maketrans("", "", " -")


def new_sign_in_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(SIGN_IN_CODE_LENGTH))


def sign_in_code_key(id_hash_key: bytes) -> bytes:
    """The key of sign-in codes, derived from the ledger's ID-hash key with its own label."""
    return hmac.new(id_hash_key, b"volunteer-ledger sign-in codes", hashlib.sha256).digest()


def sign_in_code_id(code: object, key: bytes) -> UUID:
    """The record of a code, from its keyed hash; a malformed code is invalid."""
    if not isinstance(code, str) or len(code) > 4 * SIGN_IN_CODE_LENGTH:
        raise SignInCodeInvalid()
    cleaned = code.strip().upper().translate(_SEPARATORS)
    if len(cleaned) != SIGN_IN_CODE_LENGTH or any(c not in ALPHABET for c in cleaned):
        raise SignInCodeInvalid()
    digest = hmac.new(key, b"sign-in:" + cleaned.encode(), hashlib.sha256).hexdigest()
    return stable_id("sign-in-code", digest)


class SignInCode(LedgerAggregate):
    """一次性登录码: issued for one member, used at most once before it expires."""

    @classmethod
    def create(cls, code_id: UUID, member_id: UUID, at: datetime, ctx: Context) -> SignInCode:
        return cls(member_id, at + timedelta(hours=SIGN_IN_CODE_HOURS), ctx=ctx, id=code_id)

    @event("Issued")
    def __init__(self, member_id: UUID, expires_at: datetime, ctx: Context, id: UUID) -> None:
        self.member_id = member_id
        self.expires_at = expires_at
        self.token_id: UUID | None = None
        self.device: str | None = None

    def activate(self, token_id: UUID, device: str, at: datetime, ctx: Context) -> None:
        """The phone takes the code: the token it is given is named on the record."""
        device = clean_text(device, "设备名称", DEVICE_LABEL)
        if self.token_id is not None or at >= self.expires_at:
            raise SignInCodeInvalid()
        self._activated(token_id, device, ctx)

    @event("Activated")
    def _activated(self, token_id: UUID, device: str, ctx: Context) -> None:
        self.token_id = token_id
        self.device = device
