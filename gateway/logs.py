"""What reaches the log: one short line for a client's bad HTTP, never a traceback for it.

aiohttp logs a request it cannot parse (a stray byte in the URL or a header, a broken chunk)
with its whole traceback, at ERROR: anyone on the internet could fill the log with them. The
filter below keeps one WARNING line naming the kind of error and the client's address.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError


class BadRequestsInOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and (error.code or 400) < 500:
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg, record.args = "bad HTTP request from %s: %s", (remote, type(error).__name__)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_bad_requests() -> None:
    """Install the filter on aiohttp's server logger (once, however often it is called)."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, BadRequestsInOneLine) for f in logger.filters):
        logger.addFilter(BadRequestsInOneLine())
