"""A poll back to the file it can be read from: the TOML of broadcasts/polls/parse.py, or the
same fields as JSON (the API's). Pure. `parse_poll(to_toml(p)) == p` and
`parse_poll_json(file_form(p)) == p` (tests/polls/test_definition_file.py).
"""

from __future__ import annotations

from typing import Any

import tomli_w

from broadcasts.polls.model import Poll, Question


def _audience(poll: Poll) -> dict[str, Any]:
    return {key: value for key, value in poll.audience.to_json().items() if value}


def _question(q: Question) -> dict[str, Any]:
    data: dict[str, Any] = {"key": q.key, "kind": q.kind, "text": dict(q.texts)}
    if q.optional:
        data["optional"] = True
    if q.dimension is not None:
        data["dimension"] = q.dimension
    if q.minimum is not None:
        data["min"] = q.minimum
    if q.maximum is not None:
        data["max"] = q.maximum
    if q.kind == "yes_no":
        scores = {o.key: o.score for o in q.options if o.score is not None}
        if scores:
            data["options"] = scores
    elif q.options:
        data["options"] = [
            {"key": o.key, "text": dict(o.texts), **({} if o.score is None else {"score": o.score})}
            for o in q.options
        ]
    if q.ask_if is not None:
        condition: dict[str, Any] = {"question": q.ask_if.question}
        if q.ask_if.at_least is not None:
            condition["at_least"] = q.ask_if.at_least
        else:
            condition["in"] = list(q.ask_if.values)
        data["ask_if"] = condition
    return data


def file_form(poll: Poll) -> dict[str, Any]:
    """The poll as the fields of its file (dates as ISO text: JSON has no dates)."""
    data: dict[str, Any] = {"slug": poll.slug, "title": dict(poll.title)}
    if poll.description:
        data["description"] = poll.description
    if poll.opens_at is not None:
        data["opens"] = poll.opens_at.isoformat()
    if poll.closes_at is not None:
        data["closes"] = poll.closes_at.isoformat()
    if poll.reminder_days is not None:
        data["reminder_days"] = poll.reminder_days
    if not poll.sms_gsm_safe:
        data["sms_gsm_safe"] = False
    audience = _audience(poll)
    if audience:
        data["audience"] = audience
    if poll.review_pending:
        data["review"] = {"pending": sorted(poll.review_pending)}
    data["invitation"] = dict(poll.invitation)
    if poll.reminder:
        data["reminder"] = dict(poll.reminder)
    data["questions"] = [_question(q) for q in poll.questions]
    return data


# --- TOML ----------------------------------------------------------------------------------
def to_toml(poll: Poll) -> str:
    """The poll as a TOML file (tomli-w, as the campaign export): questions and their choices as
    arrays of tables, dates as TOML date-times."""
    data = file_form(poll)
    if poll.opens_at is not None:
        data["opens"] = poll.opens_at  # a TOML date-time, not a string
    if poll.closes_at is not None:
        data["closes"] = poll.closes_at
    header = f'# Poll {poll.slug}: exported by Benkadi (see "Polls" in README.md)\n\n'
    return header + tomli_w.dumps(data, multiline_strings=True)
