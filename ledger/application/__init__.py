"""The ledger application: every command of the write side.

Each command loads the aggregates it needs, calls their methods (which check
the invariants) and saves all of them in one transaction. Optimistic
concurrency (originator id + version) decides races: a command that lost one
is run again from the start, a bounded number of times.
"""

from ledger.application.base import Receipt, RedemptionReceipt
from ledger.application.certificates import CertificateCommands, IssuedCertificate
from ledger.application.needs import NeedCommands
from ledger.application.people import PeopleCommands
from ledger.application.signin import SignInCommands
from ledger.application.store import StoreCommands
from ledger.application.work import WorkCommands


class Ledger(
    PeopleCommands, NeedCommands, WorkCommands, StoreCommands, CertificateCommands, SignInCommands
):
    """志愿服务积分账本: the write side."""

    name = "Ledger"


__all__ = ["IssuedCertificate", "Ledger", "Receipt", "RedemptionReceipt"]
