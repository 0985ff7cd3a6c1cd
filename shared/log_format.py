"""``HERALD_LOG_FORMAT=json``: one JSON object per log line, for log shippers.

Installed on the root logger's stream handlers when the process first builds its engine. It
shapes the lines of processes whose logging ends in a stream: the local host (`make run`,
``python -m emulator``), and a container that runs it. Azure's Functions worker takes records
to the host over its own channel and formats them itself, so there it changes nothing.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

TEXT, JSON = "text", "json"
FORMATS = (TEXT, JSON)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def install(log_format: str) -> None:
    """Give the root logger's stream handlers the format asked for (text: left as they are)."""
    if log_format != JSON:
        return
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setFormatter(JsonFormatter())
