"""Checkpoints as C2SP signed notes, the keys that sign them, and the log they leave in.

A checkpoint (c2sp.org/tlog-checkpoint) is the note text ``<origin>\\n<tree size>\\n
<base64 root hash>\\n``, signed as a c2sp.org/signed-note with Ed25519 (signature type
0x01): ``— <key name> base64(key ID || signature)``, the key ID being
``SHA-256(name || 0x0A || 0x01 || public key)[:4]``. A witness adds its cosignature
(c2sp.org/tlog-cosignature, type 0x04) over ``cosignature/v1\\ntime <t>\\n`` and the
same text.

A note is only ever opened with a verifier key the caller pins (``<name>+<hex key
ID>+<base64(type || public key)>``): never with a key found beside it.

Published checkpoints are appended to a file outside the database, one JSON line
each (``{"note": ..., "published_at": ...}``), written and synced before the
database learns of them.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.domain.limits import NOTE_MAX_BYTES, NOTE_MAX_SIGNATURES
from projections.merkle import HASH_SIZE

ED25519 = 0x01
COSIGNATURE = 0x04
DASH = "\u2014 "


class NoteError(ValueError):
    """A note that is malformed, or not signed by the pinned key."""


def key_id(name: str, kind: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name) or len(name) > 255:
        raise NoteError(f"密钥名 {name!r} 为空,或含空白或“+”")
    return name


@dataclass(frozen=True)
class Verifier:
    """A pinned public key: the only thing a note is checked against."""

    name: str
    kind: int
    public: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.kind, self.public)

    @property
    def vkey(self) -> str:
        material = base64.b64encode(bytes([self.kind]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)  # base64 may itself hold a '+'

        if len(parts) != 3:
            raise NoteError("公钥的格式应为 <名称>+<密钥编号>+<公钥>")
        name, hex_id, material = parts
        try:
            raw = base64.b64decode(material, validate=True)
            wanted = bytes.fromhex(hex_id)
        except (binascii.Error, ValueError):
            raise NoteError("公钥的密钥编号须为十六进制、公钥须为 base64") from None
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE):
            raise NoteError("只接受 Ed25519 公钥")
        verifier = cls(_check_name(name), raw[0], raw[1:])
        if verifier.key_id != wanted:
            raise NoteError("公钥的密钥编号与公钥不符")
        return verifier

    def check(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    key: Ed25519PrivateKey
    kind: int = ED25519

    @classmethod
    def from_seed(cls, name: str, seed: bytes, kind: int = ED25519) -> Signer:
        return cls(_check_name(name), Ed25519PrivateKey.from_private_bytes(seed), kind)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.kind, self.key.public_key().public_bytes_raw())

    def line(self, signature: bytes) -> str:
        encoded = base64.b64encode(self.verifier.key_id + signature).decode()
        return f"{DASH}{self.name} {encoded}\n"


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the ledger (``origin``) had ``size`` leaves with ``root``."""

    origin: str
    size: int
    root: bytes

    @property
    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise NoteError("检查点应为账本名、树的大小、树根哈希三行")
        origin, size, root = lines[:3]
        if not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError("树的大小不是十进制数")
        try:
            root_hash = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise NoteError("树根哈希不是 base64") from None
        if len(root_hash) != HASH_SIZE:
            raise NoteError("树根哈希不是 SHA-256 哈希")
        return cls(origin, int(size), root_hash)


def sign(text: str, signer: Signer) -> str:
    """The signed note of ``text`` (a checkpoint's, or an export's statement)."""
    return text + "\n" + signer.line(signer.key.sign(text.encode()))


def _split(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    if len(note.encode()) > NOTE_MAX_BYTES:
        raise NoteError("签名文本过大")
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("签名文本含控制字符")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("签名文本没有签名")
    text, signatures = note[: cut + 1], note[cut + 2 : -1].split("\n")
    if len(signatures) > NOTE_MAX_SIGNATURES:
        raise NoteError("签名文本的签名过多")
    parsed = []
    for line in signatures:
        if not line.startswith(DASH):
            raise NoteError("签名行须以破折号“—”和一个空格开头")
        name, _, encoded = line[len(DASH) :].partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise NoteError("签名不是 base64") from None
        if len(raw) < 5:
            raise NoteError("签名过短")
        parsed.append((name, raw))
    return text, parsed


def open_note(note: str, verifier: Verifier) -> Checkpoint:
    """The checkpoint of a note signed by the pinned ``verifier``; NoteError otherwise
    (no signature of that key, or one that does not verify)."""
    return Checkpoint.parse(open_text(note, verifier))


def open_text(note: str, verifier: Verifier) -> str:
    """The text of a note signed by the pinned ``verifier``."""
    text, signatures = _split(note)
    mine = [
        raw[4:] for name, raw in signatures if (name, raw[:4]) == (verifier.name, verifier.key_id)
    ]
    if not mine:
        raise NoteError(f"签名文本未经固定公钥 {verifier.name} 签名")
    if not all(verifier.check(text.encode(), s) for s in mine):
        raise NoteError(f"{verifier.name} 的签名核验不通过")
    return text


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(note: str, witness: Signer, timestamp: int) -> str:
    """Add a witness's cosignature (tlog-cosignature, Ed25519) to a checkpoint note."""
    text, _ = _split(note)
    signature = witness.key.sign(_cosigned_message(text, timestamp))
    return note + witness.line(struct.pack(">Q", timestamp) + signature)


def cosigned_at(note: str, witness: Verifier) -> int:
    """When the pinned witness cosigned the note; NoteError when it did not."""
    text, signatures = _split(note)
    for name, raw in signatures:
        if (name, raw[:4]) == (witness.name, witness.key_id) and len(raw) == 4 + 8 + 64:
            timestamp = struct.unpack(">Q", raw[4:12])[0]
            if witness.check(_cosigned_message(text, timestamp), raw[12:]):
                return int(timestamp)
    raise NoteError(f"签名文本没有见证方 {witness.name} 的有效联署")


@dataclass(frozen=True)
class Published:
    note: str
    published_at: datetime


class CheckpointLog:
    """An append-only file of published checkpoints, outside the database."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, note: str) -> Published:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entry = Published(note, datetime.now(UTC))
        line = json.dumps({"note": note, "published_at": entry.published_at.isoformat()})
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._drop_torn(fd)
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return entry

    @staticmethod
    def _drop_torn(fd: int) -> None:
        """Cut an append a crash left half-written (never acknowledged, never copied)."""
        size = os.fstat(fd).st_size
        window = min(size, 4 * NOTE_MAX_BYTES)
        tail = os.pread(fd, window, size - window)
        if tail and not tail.endswith(b"\n"):
            cut = tail.rfind(b"\n")
            if cut < 0 and window < size:
                raise NoteError("检查点日志末行过长,不是一条记录")
            os.ftruncate(fd, size - window + cut + 1)

    def entries(self) -> list[Published]:
        if not self.path.exists():
            return []
        found = []
        with self.path.open(encoding="utf-8") as lines:
            for line in lines:
                if not line.endswith("\n"):
                    break  # an append torn by a crash: never acknowledged, never copied
                if line.strip():
                    data = json.loads(line)
                    found.append(
                        Published(data["note"], datetime.fromisoformat(data["published_at"]))
                    )
        return found

    def checkpoints(self, verifier: Verifier) -> list[tuple[Checkpoint, Published]]:
        """Every entry the pinned key signed, with the entries it did not sign raising."""
        return [(open_note(e.note, verifier), e) for e in self.entries()]

    def last(self, verifier: Verifier) -> tuple[Checkpoint, Published] | None:
        entries = self.entries()
        return (open_note(entries[-1].note, verifier), entries[-1]) if entries else None
