"""Quiet hours: a daily window, in Bamako time, when no SMS goes out (phones ring at night).

Pure. Used by whatever makes SMS outside a person's working day: campaign messages and poll
reminders hold their SMS rows until the window ends; the dispatcher sends no SMS inside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from broadcasts.model import BAMAKO

HOUR_MINUTE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class QuietHours:
    """A daily window, in Bamako time, without SMS: e.g. 21:00-08:00 (across midnight)."""

    start: time
    end: time

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(BAMAKO).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def hold_until(self, moment: datetime) -> datetime | None:
        """The end of the quiet period `moment` is in (UTC), or None outside quiet hours."""
        if not self.contains(moment):
            return None
        local = moment.astimezone(BAMAKO)
        end = datetime.combine(local.date(), self.end, BAMAKO)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_quiet_hours(value: str | None) -> QuietHours | None:
    """ "21:00-08:00" (Bamako time); "off" or nothing for none. ValueError otherwise."""
    value = (value or "").strip().lower()
    if value in ("", "off", "none"):
        return None
    start, sep, end = value.partition("-")
    bounds = [HOUR_MINUTE.match(part.strip()) for part in (start, end)]
    if not sep or not all(bounds):
        raise ValueError('must be "HH:MM-HH:MM" in Bamako time, e.g. "21:00-08:00", or "off"')
    first, last = (time(int(m[1]), int(m[2])) for m in bounds if m)
    if first == last:
        raise ValueError("start and end are the same time")
    return QuietHours(first, last)
