"""One JSON logging setup for every process, with the correlation id on each line."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from shared_kernel.correlation import get_correlation_id
from shared_kernel.masking import mask_secrets_in_text, mask_urls_in_text

_STANDARD_ATTRS = set(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__
) | {"message", "asctime", "taskName"}


# The old name of shared_kernel.masking.mask_urls_in_text, for callers written before
# masking had a module of its own.
mask_url_credentials = mask_urls_in_text


def redact_query_secrets(text: str) -> str:
    """``/ws/alerts?token=eyJ...&x=1`` → ``/ws/alerts?token=***&x=1`` (and URLs masked)."""
    return mask_secrets_in_text(text)


class RedactSecretsFilter(logging.Filter):
    """Scrubs token-like query values from a record before any handler formats it.

    Attached to our handlers and to uvicorn's own loggers: uvicorn logs each WebSocket
    handshake with its full path and query string at INFO ("WebSocket /ws/alerts?token=
    <JWT>"), and HTTP client libraries log the URLs they fetch. The record's arguments
    keep their number and types (uvicorn's access formatter unpacks them).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query_secrets(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_query_secrets(a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                k: redact_query_secrets(v) if isinstance(v, str) else v
                for k, v in record.args.items()
            }
        return True


def redact_server_logs(names: tuple[str, ...] = ("uvicorn.error", "uvicorn.access")) -> None:
    """Attach ``RedactSecretsFilter`` to a server's own loggers (once): their handlers are
    the server's, not ours, so our handler's filter never sees those records."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecretsFilter) for f in logger.filters):
            logger.addFilter(RedactSecretsFilter())


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": mask_urls_in_text(record.getMessage()),
            "correlation_id": getattr(record, "correlation_id", None) or get_correlation_id(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in entry and not key.startswith("_"):
                # Extra fields are masked too: an ``error`` extra often quotes a URL.
                entry[key] = mask_urls_in_text(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = mask_urls_in_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route the root logger to stdout as JSON lines. Idempotent."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(RedactSecretsFilter())
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika", "botocore", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def logging_dict_config(service: str, level: str = "INFO") -> dict[str, Any]:
    """The same setup as a ``logging.config.dictConfig`` mapping (for Django's LOGGING)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "service": service}},
        "filters": {"redact_secrets": {"()": RedactSecretsFilter}},
        "handlers": {
            "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                       "formatter": "json", "filters": ["redact_secrets"]}
        },
        "root": {"handlers": ["stdout"], "level": level.upper()},
        "loggers": {
            name: {"level": "WARNING"} for name in ("aiormq", "aio_pika", "botocore", "urllib3")
        },
    }
