"""The auditor's services: verification of the hash chain, replay of an account to a
moment, re-checking awards, history with provenance, conservation, export.

They read the event store itself, trusting no read model, and sit outside
``projections/``: they are services over the ledger, not read models.
"""

from audit.conservation import CommunityFlows, Conservation, conservation
from audit.exports import EXPORT_FORMAT, check_export_line, export
from audit.provenance import HistoryLine, history
from audit.replay import AwardMismatch, MemberState, recheck_awards, replay_member
from audit.verification import Finding, Verification, checkpoint, verify

__all__ = [
    "EXPORT_FORMAT",
    "AwardMismatch",
    "CommunityFlows",
    "Conservation",
    "Finding",
    "HistoryLine",
    "MemberState",
    "Verification",
    "check_export_line",
    "checkpoint",
    "conservation",
    "export",
    "history",
    "recheck_awards",
    "replay_member",
    "verify",
]
