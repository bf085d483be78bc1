"""``ledger audit witness``: an auditor's witness of the ledger's checkpoints.

It fetches the latest checkpoint over the API, opens it with the ledger's public key
given on the command line, and checks the consistency proof (fetched over the API
too, and verified here) from the last checkpoint it kept. Only then does it cosign
the checkpoint with its own key (c2sp.org/tlog-cosignature) and keep it:
``<dir>/checkpoint`` is the latest cosigned note, ``<dir>/checkpoints.jsonl`` every
one. A ledger that rolled back or forked is refused and nothing is kept.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from projections import merkle
from projections.notes import Checkpoint, NoteError, Signer, Verifier, cosign, open_note

WITNESS_NAME = "volunteer-ledger.local/witness"
MAX_RESPONSE_BYTES = 1 << 20
TIMEOUT_SECONDS = 30


def _query(url: str, token: str, query: str, variables: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        body = json.loads(response.read(MAX_RESPONSE_BYTES))
    if body.get("errors"):
        raise NoteError(f"账本答复:{body['errors'][0].get('message')}")
    return body["data"]


def _witness_key(folder: Path) -> Signer:
    path = folder / "witness.key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return Signer.from_seed(WITNESS_NAME, bytes.fromhex(path.read_text().strip()), 0x04)


def check_extends(kept: Checkpoint | None, latest: Checkpoint, proof: list[bytes]) -> None:
    """Raise ProofError unless ``latest`` extends ``kept``."""
    if kept is None:
        return
    if kept.origin != latest.origin:
        raise merkle.ProofError("最新检查点属于另一个账本")
    merkle.verify_consistency(kept.size, latest.size, kept.root, latest.root, proof)


def witness(args: argparse.Namespace) -> int:
    log_key = Verifier.parse(args.log_key)
    folder: Path = args.dir
    signer = _witness_key(folder)
    try:
        note = _query(args.url, args.token, "{ latestCheckpoint { note } }", {})[
            "latestCheckpoint"
        ]["note"]
        latest = open_note(note, log_key)
        current = folder / "checkpoint"
        kept = open_note(current.read_text(), log_key) if current.exists() else None
        proof: list[bytes] = []
        if kept is not None and latest.size > kept.size:
            found = _query(
                args.url,
                args.token,
                "query($old: Int!, $new: Int!) { consistencyProof(oldSize: $old, newSize: $new)"
                " { hashes } }",
                {"old": kept.size, "new": latest.size},
            )
            proof = [base64.b64decode(h) for h in found["consistencyProof"]["hashes"]]
        check_extends(kept, latest, proof)
    except (NoteError, merkle.ProofError, OSError, KeyError, TypeError, ValueError) as error:
        print(f"拒绝见证:{error}", file=sys.stderr)
        return 1
    cosigned = cosign(note, signer, int(time.time()))
    staged = folder / "checkpoint.new"
    staged.write_text(cosigned)
    os.replace(staged, current)
    with (folder / "checkpoints.jsonl").open("a", encoding="utf-8") as history:
        history.write(json.dumps({"note": cosigned}) + "\n")
    print(f"已见证并联署:树大小 {latest.size}(见证方公钥 {signer.verifier.vkey})")
    return 0
