"""Every end-to-end run's log, read the way production writes it, checked for what must never
be in it: a configured secret (in any spelling) or a phone number (issue 12, item 7).

start_harness() begins an audit and stop_harness() ends it, so each test that runs the app
through the harness is checked."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

from gateway.logs import PHONE, quiet_noisy_libraries, redact_secrets, secrets_of
from gateway.settings import Settings


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class LogAudit:
    settings: Settings
    written: io.StringIO = field(default_factory=io.StringIO)
    _level: int = logging.WARNING

    def __post_init__(self) -> None:
        self.handler = logging.StreamHandler(self.written)
        self.handler.setLevel(logging.INFO)
        redact_secrets(self.settings, [self.handler])  # as `benkadi` sets up its handlers
        self.raw = _Records()

    def start(self) -> LogAudit:
        root = logging.getLogger()
        self._level = root.level
        root.setLevel(min(root.level, logging.INFO) or logging.INFO)
        quiet_noisy_libraries()
        root.addHandler(self.handler)
        root.addHandler(self.raw)
        return self

    def stop(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.removeHandler(self.raw)
        root.setLevel(self._level)

    def leaks(self) -> list[str]:
        """What should not be there: in the log as written (tracebacks included), a secret; in
        what the code itself said, a secret or a phone number (the redaction is only a net)."""
        secrets = secrets_of(self.settings)
        found = [f"secret in the log: {s[:4]}…" for s in secrets if s in self.written.getvalue()]
        for record in self.raw.records:
            said = record.getMessage()
            if any(secret in said for secret in secrets):
                found.append(f"secret said by {record.name}")
            if PHONE.search(said):
                found.append(f"phone number said by {record.name}: {record.msg!r}")
        return found
