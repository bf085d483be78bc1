"""现场签到: the code a community shows at a task's site, and where a phone says it is.

A site code needs no write: it is an HMAC of the task's id and the current minute
under a key the database never holds (derived from the ledger's ID-hash key, which
lives in the keys folder or the environment), cut to six digits as one-time
passwords are (RFC 4226's truncation). The screen at the site shows the current
minute's code; a typed code is accepted for the minute it was shown and a grace of
several minutes after, so a slow hand still makes it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from ledger.domain.errors import InvalidInput, SiteCodeInvalid

SITE_CODE_PERIOD_SECONDS = 60
"""The screen shows a new code every minute."""
SITE_CODE_GRACE_STEPS = 5
"""A code is still accepted this many minutes after the screen replaced it."""
SITE_CODE_DIGITS = 6
SITE_CODE_INPUT = 32
"""A code as scanned or typed, before spaces are taken out."""

LATITUDES = (3.8, 53.6)
LONGITUDES = (73.5, 135.1)
"""China's box: a location outside it is a mistake or a forgery."""
MAX_ACCURACY_METERS = 5000.0
EARTH_RADIUS_METERS = 6_371_000.0


def site_code_key(id_hash_key: bytes) -> bytes:
    """The key of site codes, derived from the ledger's ID-hash key with its own label."""
    return hmac.new(id_hash_key, b"volunteer-ledger site codes", hashlib.sha256).digest()


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // SITE_CODE_PERIOD_SECONDS


def site_code(task_id: UUID, step: int, key: bytes) -> str:
    """The code of a task for one minute (``step``)."""
    digest = hmac.new(key, task_id.bytes + step.to_bytes(8, "big"), hashlib.sha256).digest()
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{number % 10**SITE_CODE_DIGITS:0{SITE_CODE_DIGITS}d}"


@dataclass(frozen=True)
class ShownCode:
    """What the screen at the site shows now, and when it shows the next code."""

    code: str
    step: int
    next_at: datetime


def shown_code(task_id: UUID, key: bytes, at: datetime) -> ShownCode:
    step = time_step(at)
    next_at = datetime.fromtimestamp((step + 1) * SITE_CODE_PERIOD_SECONDS, UTC)
    return ShownCode(site_code(task_id, step, key), step, next_at)


def read_site_code(code: object, task_id: UUID, key: bytes, at: datetime) -> int:
    """The minute (step) in which ``code`` was shown at this task's site, at most the
    grace before ``at``; anything else (another task's, too old, malformed) is
    ``SiteCodeInvalid``."""
    if not isinstance(code, str) or len(code) > SITE_CODE_INPUT:
        raise SiteCodeInvalid()
    cleaned = code.replace(" ", "").replace("-", "")
    if len(cleaned) != SITE_CODE_DIGITS or not cleaned.isascii() or not cleaned.isdigit():
        raise SiteCodeInvalid()
    now = time_step(at)
    for step in range(now, now - SITE_CODE_GRACE_STEPS - 1, -1):
        if hmac.compare_digest(site_code(task_id, step, key), cleaned):
            return step
    raise SiteCodeInvalid()


def check_point(latitude: object, longitude: object) -> tuple[float, float]:
    """A place's coordinates (WGS-84 degrees), inside China's box."""
    lat, lon = _number(latitude, "纬度"), _number(longitude, "经度")
    if not (LATITUDES[0] <= lat <= LATITUDES[1] and LONGITUDES[0] <= lon <= LONGITUDES[1]):
        raise InvalidInput(
            reason=f"位置须在中国境内(纬度 {LATITUDES[0]} 至 {LATITUDES[1]},"
            f"经度 {LONGITUDES[0]} 至 {LONGITUDES[1]})"
        )
    return lat, lon


@dataclass(frozen=True)
class Location:
    """Where a phone said it was, and how sure it was (metres)."""

    latitude: float
    longitude: float
    accuracy: float

    @classmethod
    def create(cls, latitude: object, longitude: object, accuracy: object) -> Location:
        lat, lon = check_point(latitude, longitude)
        acc = _number(accuracy, "定位精度")
        if not 0 < acc <= MAX_ACCURACY_METERS:
            raise InvalidInput(reason=f"定位精度须大于 0 且不超过 {MAX_ACCURACY_METERS:.0f} 米")
        return cls(lat, lon, acc)

    def distance_to(self, latitude: float, longitude: float) -> float:
        """Metres along the earth's surface (haversine)."""
        phi1, phi2 = math.radians(self.latitude), math.radians(latitude)
        dphi = phi2 - phi1
        dlam = math.radians(longitude - self.longitude)
        h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
        return 2 * EARTH_RADIUS_METERS * math.asin(math.sqrt(h))


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(reason=f"{field}须为数字")
    return float(value)
