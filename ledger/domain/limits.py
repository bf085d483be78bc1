"""Every bound the ledger puts on what it is given, in one place.

The commands, the rule book and the importer ask this module; none restates a
number. Lengths count characters (code points) after NFC normalisation and
stripping surrounding white space (see ``ledger.domain.text``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

# --- text: maximum lengths in characters ---------------------------------------

PERSON_NAME = 50
"""A member's name."""
ORG_NAME = 100
"""A street, community, grid, unit, work team, Party branch or volunteer team; also a
donor, an approver and whoever raised a need (a person or an organisation)."""
TITLE = 100
"""A task's title, a store item's name."""
PLACE = 100
"""Where a need is or a service happens (服务地点), as people write it."""
CATEGORY_NAME = 20
"""A service category of the rule book (学习, 应急保障, …)."""
PLACE = 100
"""A place where a service happens (服务地点), as people write it."""
FREE_TEXT = 500
"""A need's description, a reason (cancelling, reversing), a review comment, a rule
book version's note. Free text may span lines; every other text is one line."""
EVIDENCE_ITEM = 200
"""One item of evidence at a check-in or check-out (a photo's hash, a file reference)."""
MAX_EVIDENCE = 20
"""Items of evidence at one check-in or one check-out."""

IMPORT_WORKERS = 32
"""Worker processes an import may decide its rows with (``ledger import --workers``)."""

# --- identifiers: machine-made, exact, never normalised --------------------------

IDENTIFIER = 128
"""A kiosk id, a device id, a redemption request key, an import's record number."""
IDENTIFIER_PATTERN = re.compile(rf"[A-Za-z0-9._:-]{{1,{IDENTIFIER}}}")
DECIMAL_PATTERN = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
"""A decimal number as text: ASCII digits, an optional sign and point; no spaces,
underscores, exponents or other scripts' digits (which Python's ``Decimal`` would take)."""
MAX_DECIMAL_CHARS = 40
"""What a kiosk id, a device id and a request key may be (ASCII, matched whole)."""
RECORD_NUMBER = 64
"""An import file's record number (记录编号): one line of text, any script."""
PHONE_PATTERN = re.compile(r"\+?[0-9]{7,15}")
"""A phone number once spaces and hyphens are taken out (ASCII digits, matched whole)."""
PHONE_INPUT = 32
"""A phone number as typed, with its spaces and hyphens."""
NATIONAL_ID_PATTERN = re.compile(r"[0-9]{17}[0-9X]")
"""A resident identity card number (18 characters, upper-case X, matched whole)."""
NATIONAL_ID_INPUT = 32
"""A national ID number as typed, before it is stripped and upper-cased."""

# --- counts and amounts ----------------------------------------------------------

MAX_POINTS = Decimal("100000")
"""A store item's price in points."""
MAX_QUANTITY = 10_000
"""Goods in one restock or one redemption line."""
MAX_CAPACITY = 10_000
"""Places in one task."""
MAX_TASK_DAYS = 7
"""A task's scheduled duration is shorter than this many days."""
MAX_LINES = 20
"""Kinds of goods in one redemption."""
MAX_GRIDS = 200
"""Grids of one community."""
MAX_PAIRED_COMMUNITIES = 500
"""Communities one unit is paired with."""

# --- time ------------------------------------------------------------------------

EARLIEST = datetime(2000, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
LATEST = datetime(2100, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
"""The instants the ledger accepts: from EARLIEST up to (not including) LATEST,
China Standard Time. Instants must carry their zone."""
FIRST_YEAR = EARLIEST.year
LAST_YEAR = LATEST.year - 1
"""The years (of an annual review) the ledger accepts: 2000 to 2099."""

# --- the transparency log (审计) ----------------------------------------------------

CHECKPOINT_EVERY_EVENTS = 10_000
"""A checkpoint is signed once this many events came after the last one ..."""
CHECKPOINT_EVERY_MINUTES = 10.0
"""... or once this many minutes passed since it and the tree has grown."""
UNCHAINED_MAX = 50_000
"""Events recorded after the tree's last leaf that a verification tolerates (the
projector being behind); more, and the verification fails."""
MAX_TREE_SIZE = 2**53
"""A tree size or a leaf index a proof may name."""
NOTE_MAX_BYTES = 16_384
"""A signed note (a checkpoint with its signatures and cosignatures)."""
NOTE_MAX_SIGNATURES = 32
"""Signature lines in one note."""


# --- the rule book (积分规则) --------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """A closed interval, or half-open at the bottom when ``above`` is set."""

    low: Decimal
    high: Decimal
    above: bool = False  # strictly above ``low``

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, Decimal | int) or isinstance(value, bool):
            return False
        low_ok = value > self.low if self.above else value >= self.low
        return low_ok and value <= self.high

    def describe(self) -> str:
        low = f"大于 {self.low}" if self.above else f"不小于 {self.low}"
        return f"{low} 且不超过 {self.high}"


POLICY_VERSION = Range(Decimal(1), Decimal(1_000_000))
POINTS_PER_HOUR = Range(Decimal(0), Decimal(100), above=True)
MULTIPLIER = Range(Decimal(0), Decimal(10))
"""A difficulty or a rating multiplier."""
MIN_ATTENDANCE = Range(Decimal(0), Decimal(1))
ROUTINE_DAILY_CAP_HOURS = Range(Decimal(0), Decimal(24), above=True)
ANNUAL_FLOOR_HOURS = Range(Decimal(0), Decimal(1000))
EXPIRY_YEARS_AFTER = Range(Decimal(0), Decimal(10))
CLOCK_TOLERANCE_SECONDS = Range(Decimal(0), Decimal(600))
"""How far a check-in or check-out time may lie ahead of the server's clock."""
EARLY_ARRIVAL_MINUTES = Range(Decimal(0), Decimal(240))
"""How long before a task's start a check-in is still taken (early arrival)."""
LATE_CHECKOUT_MINUTES = Range(Decimal(0), Decimal(720))
"""How long after a task's end a check-out is still taken."""
SITE_DISTANCE_METERS = Range(Decimal(10), Decimal(10_000))
"""How far from a task's place a phone may check in (metres)."""
COMMUNITY_DISCRETION = Range(Decimal(0), Decimal(1))
"""How far a community's own rating and difficulty multipliers may be from the street's."""
RANKING_WEIGHT = Range(Decimal(0), Decimal(1))
"""Each ranking weight; together they must sum to more than 0."""
POLICY_DECIMAL_PLACES = 4
"""Decimal places a number of the rule book may have."""
POLICY_NUMBER_CHARS = 32
"""Characters of a number given as a string."""
MAX_CATEGORIES = 300
"""Service categories in one version of the rule book."""

# --- service certificates (志愿服务证明) -------------------------------------------

CERTIFICATE_MAX_DAYS = 5 * 366
"""The longest period one certificate covers."""
CERTIFICATE_MAX_SERVICES = 5000
"""The most services one certificate summarises (its events are listed in it)."""
CERTIFICATE_RANDOM_LENGTH = 12
"""Random characters of a certificate number, from the member code's alphabet (60 bits):
a number cannot be guessed, so the public verification page cannot be walked."""
