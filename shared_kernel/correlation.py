"""The correlation id that follows one request through both services and the bus."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

CORRELATION_HEADER = "X-Correlation-ID"

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def get_correlation_id() -> str | None:
    return _correlation_id.get()


def set_correlation_id(value: str | None) -> Token[str | None]:
    return _correlation_id.set(value)


def reset_correlation_id(token: Token[str | None]) -> None:
    _correlation_id.reset(token)


def accept_or_new(incoming: str | None) -> str:
    """Keep a caller's correlation id when it is sane, otherwise mint a new one.

    Incoming ids are attacker-controlled and end up in every log line, so anything that
    is not a short token of safe characters is replaced.
    """
    if incoming and _VALID.match(incoming):
        return incoming
    return str(uuid.uuid4())
