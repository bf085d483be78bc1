"""Sign-in by one-time code: a community issues it, a phone takes it once, a member's
devices are revoked by the member or their community."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger.application.base import LedgerBase, Receipt, retried
from ledger.domain.errors import SignInCodeInvalid
from ledger.domain.signin import SignInCode, new_sign_in_code, sign_in_code_id, sign_in_code_key
from ledger.domain.values import Context, now


@dataclass(frozen=True)
class IssuedSignIn(Receipt):
    """The code, told once: the ledger keeps only its keyed hash."""

    code: str
    member_id: UUID
    member_name: str
    expires_at: datetime


@dataclass(frozen=True)
class Activation(Receipt):
    member_id: UUID
    member_name: str
    community_name: str
    device: str


class SignInCommands(LedgerBase):
    """一次性登录码: sign-in without an administrator."""

    def issue_sign_in(
        self, member_id: UUID, ctx: Context, *, at: datetime | None = None
    ) -> IssuedSignIn:
        member = self.read_member(member_id)
        key = sign_in_code_key(self.id_hash_key)
        while True:
            code = new_sign_in_code()
            code_id = sign_in_code_id(code, key)
            if not self.exists(code_id):  # a clash of 40 random bits: draw again
                break
        record = SignInCode.create(code_id, member.id, at or now(), ctx)
        receipt = self._create(record)
        return IssuedSignIn(
            receipt.id,
            receipt.position,
            code=code,
            member_id=member.id,
            member_name=member.name,
            expires_at=record.expires_at,
        )

    @retried
    def activate_sign_in(
        self, code: str, token_id: UUID, device: str, ctx: Context, *, at: datetime | None = None
    ) -> Activation:
        """Take a code for the token ``token_id`` (which the caller stores only once
        this has been recorded): a code is taken once, before it expires."""
        code_id = sign_in_code_id(code, sign_in_code_key(self.id_hash_key))
        loaded = self._load([code_id])[code_id]
        if not isinstance(loaded, SignInCode):
            raise SignInCodeInvalid()
        loaded.activate(token_id, device, at or now(), ctx)
        member = self.read_member(loaded.member_id)
        community = self.read_community(member.community_id)
        receipt = self._done(code_id, loaded)
        assert loaded.device is not None
        return Activation(
            receipt.id,
            receipt.position,
            member_id=member.id,
            member_name=member.name,
            community_name=community.name,
            device=loaded.device,
        )

    @retried
    def revoke_sign_in(self, member_id: UUID, token_id: UUID, ctx: Context) -> Receipt:
        """Recorded on the member; the caller revokes the token itself."""
        member = self.get_member(member_id)
        member.revoke_sign_in(token_id, ctx)
        return self._done(member.id, member)
