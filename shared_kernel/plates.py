"""Brazilian licence plates: the ``PlateNumber`` value object and watchlist patterns.

Two layouts circulate together:

* old (grey/yellow) plates ``ABC1234`` — three letters, four digits;
* Mercosul plates ``ABC1D23`` — the fifth character is a letter.

A Mercosul plate converted from an old one keeps its number with the fifth digit
replaced by a letter (0→A, 1→B, … 9→J), so ``ABC1D23`` and ``ABC1323`` are the same
vehicle. Watchlists and searches must treat them as equal.

OCR reads plates with predictable confusions (``O``/``0``, ``I``/``1``, ``B``/``8``…).
Because every position of a plate is either a letter or a digit (except the fifth), a
confusion can be undone from its position alone; ``PlateNumber.parse`` does that and
rejects whatever still is not a plate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

PlateStyle = Literal["old", "mercosul"]

PLATE_LENGTH = 7
LETTER_POSITIONS = (0, 1, 2)
DIGIT_POSITIONS = (3, 5, 6)
#: The fifth character: a digit on old plates, a letter on Mercosul plates.
MIXED_POSITION = 4

# What OCR reads in place of a letter, when the position demands a letter.
DIGIT_TO_LETTER: dict[str, str] = {
    "0": "O",
    "1": "I",
    "2": "Z",
    "4": "A",
    "5": "S",
    "6": "G",
    "7": "T",
    "8": "B",
}
# What OCR reads in place of a digit, when the position demands a digit.
LETTER_TO_DIGIT: dict[str, str] = {
    "O": "0",
    "Q": "0",
    "D": "0",
    "U": "0",
    "I": "1",
    "L": "1",
    "J": "1",
    "Z": "2",
    "A": "4",
    "S": "5",
    "G": "6",
    "T": "7",
    "B": "8",
}

# Mercosul conversion of the fifth character: old digit d <-> letter "ABCDEFGHIJ"[d].
_MERCOSUL_LETTERS = "ABCDEFGHIJ"

# Separators people and OCR put inside a plate: spaces, hyphens, dots, middle dots.
_SEPARATORS = re.compile(r"[\s\-\.\u00b7\u2010-\u2015_:]+")
_VALID = re.compile(r"^[A-Z]{3}[0-9][A-Z0-9][0-9]{2}$")


def normalise(text: str) -> str:
    """Uppercase and drop separators: ``' abc-1d23 '`` → ``'ABC1D23'``."""
    return _SEPARATORS.sub("", text.strip().upper())


def _fix_position(char: str, position: int) -> str:
    if position in LETTER_POSITIONS:
        return char if char.isalpha() else DIGIT_TO_LETTER.get(char, char)
    if position in DIGIT_POSITIONS:
        return char if char.isdigit() else LETTER_TO_DIGIT.get(char, char)
    # The fifth character is legitimately a letter or a digit: nothing to undo.
    return char


@dataclass(frozen=True, slots=True)
class PlateNumber:
    """A valid Brazilian plate, always stored normalised (``ABC1234`` or ``ABC1D23``)."""

    value: str

    def __post_init__(self) -> None:
        if not _VALID.match(self.value) or not self.value.isascii():
            raise ValueError(f"not a Brazilian plate: {self.value!r}")

    @classmethod
    def parse(cls, text: str) -> PlateNumber:
        """Normalise ``text``, undo OCR confusions by position, and validate.

        Raises ``ValueError`` for anything that is not a plate after that.
        """
        compact = normalise(text)
        if len(compact) != PLATE_LENGTH or not compact.isascii() or not compact.isalnum():
            raise ValueError(f"not a Brazilian plate: {text!r}")
        fixed = "".join(_fix_position(c, i) for i, c in enumerate(compact))
        return cls(fixed)

    @classmethod
    def is_valid(cls, text: str) -> bool:
        try:
            cls.parse(text)
        except ValueError:
            return False
        return True

    @property
    def style(self) -> PlateStyle:
        return "old" if self.value[MIXED_POSITION].isdigit() else "mercosul"

    def to_mercosul(self) -> PlateNumber:
        """The Mercosul form of this plate (itself when already Mercosul)."""
        if self.style == "mercosul":
            return self
        digit = int(self.value[MIXED_POSITION])
        return PlateNumber(self._with_fifth(_MERCOSUL_LETTERS[digit]))

    def to_old(self) -> PlateNumber | None:
        """The old form this Mercosul plate was converted from, if it can have one.

        Only letters A-J come from a conversion; a Mercosul plate with another fifth
        letter has no old equivalent and gives ``None``.
        """
        if self.style == "old":
            return self
        index = _MERCOSUL_LETTERS.find(self.value[MIXED_POSITION])
        if index < 0:
            return None
        return PlateNumber(self._with_fifth(str(index)))

    def equivalent_forms(self) -> frozenset[str]:
        """Every spelling of this vehicle's plate: itself and its old/Mercosul twin."""
        forms = {self.value, self.to_mercosul().value}
        old = self.to_old()
        if old is not None:
            forms.add(old.value)
        return frozenset(forms)

    def same_vehicle(self, other: PlateNumber) -> bool:
        """True when both plates are the same number, in either layout."""
        return self.to_mercosul() == other.to_mercosul()

    def formatted(self) -> str:
        """Human form: ``ABC-1234`` for old plates, ``ABC1D23`` for Mercosul ones."""
        return f"{self.value[:3]}-{self.value[3:]}" if self.style == "old" else self.value

    def _with_fifth(self, char: str) -> str:
        return self.value[:MIXED_POSITION] + char + self.value[MIXED_POSITION + 1 :]

    def __str__(self) -> str:
        return self.value


_PATTERN_CHARS = re.compile(r"^[A-Z0-9*?]+$")


@dataclass(frozen=True, slots=True)
class PlatePattern:
    """A watchlist entry's plate: exact (``ABC1D23``) or with wildcards.

    ``*`` matches any run of characters (``ABC*``), ``?`` exactly one (``ABC1?23``).
    Matching is layout-blind: ``ABC1D23`` matches a read of ``ABC1323`` and back.
    """

    text: str

    def __post_init__(self) -> None:
        if not _PATTERN_CHARS.match(self.text):
            raise ValueError(f"invalid plate pattern: {self.text!r}")
        literal = self.text.replace("*", "").replace("?", "")
        if not literal:
            # A pattern of wildcards only would alert on every car that passes.
            raise ValueError("a plate pattern needs at least one letter or digit")
        if len(self.text.replace("*", "")) > PLATE_LENGTH:
            raise ValueError(f"plate pattern longer than a plate: {self.text!r}")
        if "*" not in self.text and len(self.text) != PLATE_LENGTH:
            raise ValueError(f"a pattern without '*' must have {PLATE_LENGTH} characters")
        if self.is_exact:
            PlateNumber(self.text)  # an exact pattern must itself be a plate

    @classmethod
    def parse(cls, text: str) -> PlatePattern:
        compact = normalise(text)
        compact = re.sub(r"\*+", "*", compact)
        if "*" not in compact and "?" not in compact:
            # An exact plate: apply the same OCR-confusion fixing as reads get.
            return cls(PlateNumber.parse(compact).value)
        return cls(compact)

    @property
    def is_exact(self) -> bool:
        return "*" not in self.text and "?" not in self.text

    def _regex(self) -> re.Pattern[str]:
        body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in self.text)
        return re.compile(f"^{body}$")

    def matches(self, plate: PlateNumber) -> bool:
        # ``re`` caches compiled expressions, so compiling per call stays cheap and the
        # value object stays a plain hashable dataclass.
        if self.is_exact:
            return PlateNumber(self.text).same_vehicle(plate)
        pattern = self._regex()
        return any(pattern.match(form) for form in plate.equivalent_forms())

    def __str__(self) -> str:
        return self.text
