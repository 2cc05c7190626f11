"""Logging set-up shared by the services: plain text or one JSON object per line."""

from __future__ import annotations

import json
import logging
import sys
from typing import ClassVar, TextIO

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, for machine-read logs."""

    _FIELDS: ClassVar[dict[str, str]] = {"levelname": "level", "name": "logger", "process": "pid"}

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON."""
        entry = {"time": self.formatTime(record), "message": record.getMessage()}
        entry.update({key: str(getattr(record, attr)) for attr, key in self._FIELDS.items()})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is now; marks the handler this module installed."""

    @property
    def stream(self) -> TextIO:
        """The current stderr, looked up per record (test runners swap it)."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(level: str, log_format: str, logger_name: str = "") -> None:
    """Send one logger's records (the root logger by default) to stderr at `level` in `log_format`."""
    logger = logging.getLogger(logger_name or None)
    for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
