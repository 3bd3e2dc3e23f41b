"""One JSON logging setup for every process, with the correlation id on each line."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from shared_kernel.correlation import get_correlation_id
from shared_kernel.masking import mask_urls_in_text

_STANDARD_ATTRS = set(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__
) | {"message", "asctime", "taskName"}


# The old name of shared_kernel.masking.mask_urls_in_text, for callers written before
# masking had a module of its own.
mask_url_credentials = mask_urls_in_text


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
        "handlers": {
            "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                       "formatter": "json"}
        },
        "root": {"handlers": ["stdout"], "level": level.upper()},
        "loggers": {
            name: {"level": "WARNING"} for name in ("aiormq", "aio_pika", "botocore", "urllib3")
        },
    }
