"""The auditor's services: verification of the Merkle tree against signed checkpoints,
proofs, replay of an account to a moment, re-checking awards, matching account
movements to their causes, history with provenance, conservation, export.

They read the event store itself, trusting no read model, and sit outside
``projections/``: they are services over the ledger, not read models.
"""

from audit.conservation import CommunityFlows, Conservation, conservation
from audit.exports import EXPORT_FORMAT, certificate_export, export, publish_now
from audit.proofs import (
    Anchoring,
    ConsistencyProof,
    InclusionProof,
    anchor,
    anchored_check,
    consistency,
    inclusion,
    latest_note,
)
from audit.provenance import HistoryLine, history
from audit.reconcile import Unmatched, reconcile
from audit.replay import AwardMismatch, MemberState, recheck_awards, replay_member
from audit.verification import Finding, Verification, verify

__all__ = [
    "EXPORT_FORMAT",
    "Anchoring",
    "AwardMismatch",
    "CommunityFlows",
    "Conservation",
    "ConsistencyProof",
    "Finding",
    "HistoryLine",
    "InclusionProof",
    "MemberState",
    "Unmatched",
    "Verification",
    "anchor",
    "anchored_check",
    "certificate_export",
    "conservation",
    "consistency",
    "export",
    "history",
    "inclusion",
    "latest_note",
    "publish_now",
    "recheck_awards",
    "reconcile",
    "replay_member",
    "verify",
]
