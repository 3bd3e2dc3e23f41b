"""The one pagination rule of both APIs (``?page=`` and ``?page_size=``).

* ``page`` is an integer from 1 to :data:`MAX_PAGE`; anything else is a 400 naming the
  parameter (before this bound, ``?page=10**22`` overflowed PostgreSQL's 64-bit OFFSET
  and answered 500).
* ``page_size`` is an integer of at least 1; above the service's maximum it is clamped
  to that maximum (the response says the size used); absent, the service's default.
* A page past the end of the list is a 404; page 1 always exists, possibly empty.

Every list of both services answers one shape (DRF's, with the page actually served)::

    {"count": 120, "page": 2, "page_size": 50,
     "next": "https://…/?page=3&page_size=50", "previous": "https://…/?page=1&page_size=50",
     "results": [...]}

``count`` is the size of the whole list; ``next``/``previous`` are absolute URLs or null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PAGE = 1_000_000


class InvalidPageRequest(ValueError):
    """A ``page`` or ``page_size`` that is not a usable integer; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class PageRequest:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def past_end(self, total: int) -> bool:
        """Whether this page lies after the last one of a list of ``total`` items."""
        return self.number > 1 and self.offset >= total

    @classmethod
    def of(cls, page: int, page_size: int | None, *, default_size: int,
           max_size: int) -> PageRequest:
        if not 1 <= page <= MAX_PAGE:
            raise InvalidPageRequest("page", PAGE_MESSAGE)
        if page_size is not None and page_size < 1:
            raise InvalidPageRequest("page_size", PAGE_SIZE_MESSAGE)
        return cls(page, min(page_size or default_size, max_size))

    @classmethod
    def parse(cls, page: str | None, page_size: str | None, *, default_size: int,
              max_size: int) -> PageRequest:
        """From query-string values (None or empty: the defaults)."""
        number = _integer(page, "page", PAGE_MESSAGE)
        size = _integer(page_size, "page_size", PAGE_SIZE_MESSAGE)
        return cls.of(1 if number is None else number, size, default_size=default_size,
                      max_size=max_size)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list as a use case returns it: the rows and the size of the whole list."""

    items: list[T]
    total: int


PAGE_MESSAGE = f"must be an integer from 1 to {MAX_PAGE}"
PAGE_SIZE_MESSAGE = "must be an integer of at least 1"


def _integer(text: str | None, field: str, message: str) -> int | None:
    if text is None or text == "":
        return None
    stripped = text.strip()
    # Plain ASCII digits only: int() would also take "1_000" or non-ASCII digits.
    if not (stripped.isascii() and stripped.isdigit()):
        raise InvalidPageRequest(field, message)
    # Beyond 18 digits the exact value does not matter (a page out of range, a size
    # clamped), and converting thousands of digits costs real CPU.
    return int(stripped) if len(stripped) <= 18 else _HUGE


_HUGE = 10**18
