"""Poll definitions from TOML files (or the API's JSON), checked, with file:line errors. Pure.

The file format is in the README ("Polls"). Errors name file, line and field as campaign
files' do (broadcasts/file_parser.py): `FILE:LINE: questions[3].options[2].text.bm: …`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from bot.vocabulary.sms_text import cheapest_sms_text, sms_size
from broadcasts.file_parser import FileError, FileParser
from broadcasts.model import BAMAKO, Audience
from broadcasts.polls.model import DIMENSIONS, KINDS, YES_NO, Condition, Option, Poll, Question
from broadcasts.toml_lines import Path_

POLLS_DIR = Path(__file__).parent / "data"  # the polls shipped with Benkadi
KEY = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
MAX_KEY = 24  # Telegram callback data "p:<poll id>:<question>:<option>" must stay under 64 bytes
POLL_KEYS = (
    "slug", "title", "description", "opens", "closes", "reminder_days", "sms_gsm_safe",
    "audience", "invitation", "reminder", "review", "questions", "whatsapp", "fallback",
)  # fmt: skip
QUESTION_KEYS = ("key", "kind", "text", "options", "optional", "min", "max", "dimension", "ask_if")
OPTION_KEYS = ("key", "text", "score")
MAX_QUESTIONS = 40
MAX_MESSAGE_SMS = 2  # an invitation or a reminder: at most two SMS each, as sent


class PollError(FileError):
    """A poll definition is wrong: file, line, field and what."""


class _PollParser(FileParser):
    error = PollError

    def key(self, data: Mapping[str, Any], path: Path_, what: str) -> str:
        value = data.get("key")
        if not isinstance(value, str) or not KEY.match(value) or len(value) > MAX_KEY:
            raise self.fail(
                (*path, "key"),
                f"must be lower-case letters, digits, - or _ (at most {MAX_KEY}), e.g. {what}",
            )
        return value

    def moment(self, value: Any, path: Path_, end_of_day: bool) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=BAMAKO)
        if isinstance(value, date):
            return datetime.combine(value, time(23, 59, 59) if end_of_day else time(0), BAMAKO)
        if isinstance(value, str):
            try:
                return self.moment(datetime.fromisoformat(value), path, end_of_day)
            except ValueError:
                pass
        raise self.fail(path, "must be a date (2026-12-01) or a date and time, Bamako time")

    def number(self, data: Mapping[str, Any], key: str, path: Path_) -> float | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail((*path, key), "must be a number")
        return value

    def option(self, data: Any, path: Path_) -> Option:
        if not isinstance(data, Mapping):
            raise self.fail(path, "must be an [[questions.options]] table")
        self.unknown_keys(data, OPTION_KEYS, path)
        key = self.key(data, path, '"oui"')
        texts = self.language_texts(data.get("text"), (*path, "text"), one_line=True)
        return Option(key, texts, self.number(data, "score", path))

    def condition(self, value: Any, path: Path_, earlier: dict[str, Question]) -> Condition:
        if not isinstance(value, Mapping) or "question" not in value:
            raise self.fail(path, 'must be { question = "key", in = ["…"] } or at_least = N')
        self.unknown_keys(value, ("question", "in", "at_least"), path)
        target = earlier.get(value["question"])
        if target is None:
            raise self.fail((*path, "question"), "must name an earlier question")
        if target.kind == "number":
            at_least = self.number(value, "at_least", path)
            if at_least is None or "in" in value:
                raise self.fail(path, "a number question is tested with at_least = N")
            return Condition(target.key, (), at_least)
        values = value.get("in")
        if target.kind == "text" or not isinstance(values, list) or not values:
            raise self.fail((*path, "in"), "must list some options of the earlier question")
        for n, item in enumerate(values):
            if item not in target.option_keys:
                known = ", ".join(target.option_keys)
                raise self.fail((*path, "in", n), f"is not an option of it (known: {known})")
        return Condition(target.key, tuple(values))

    def question(self, data: Any, path: Path_, earlier: dict[str, Question]) -> Question:
        if not isinstance(data, Mapping):
            raise self.fail(path, "must be a [[questions]] table")
        self.unknown_keys(data, QUESTION_KEYS, path)
        key = self.key(data, path, '"plan-strategique"')
        if key in earlier:
            raise self.fail((*path, "key"), f"{key!r} is already the key of another question")
        kind = data.get("kind")
        if kind not in KINDS:
            raise self.fail((*path, "kind"), f"must be one of {', '.join(KINDS)}")
        texts = self.language_texts(data.get("text"), (*path, "text"))
        optional = data.get("optional", False)
        if not isinstance(optional, bool):
            raise self.fail((*path, "optional"), "must be true or false")
        dimension = data.get("dimension")
        if dimension is not None and dimension not in DIMENSIONS:
            raise self.fail((*path, "dimension"), f"must be one of {', '.join(DIMENSIONS)}")
        options: tuple[Option, ...] = ()
        if kind in ("single", "multiple"):
            tables = data.get("options")
            if not isinstance(tables, list) or len(tables) < 2:
                raise self.fail((*path, "options"), "needs at least two [[questions.options]]")
            options = tuple(self.option(t, (*path, "options", n)) for n, t in enumerate(tables))
            keys = [o.key for o in options]
            for n, option_key in enumerate(keys):
                if option_key in keys[:n] or option_key in ("done", "skip"):
                    raise self.fail((*path, "options", n, "key"), f"{option_key!r} is taken")
        elif kind == "yes_no":
            scores = data.get("options") or {}
            if not isinstance(scores, Mapping) or set(scores) - set(YES_NO):
                raise self.fail((*path, "options"), "for yes/no: { yes = SCORE, no = SCORE }")
            options = tuple(
                Option(k, {}, self.number(scores, k, (*path, "options"))) for k in YES_NO
            )
        elif "options" in data:
            raise self.fail((*path, "options"), f"a {kind} question has no options")
        minimum, maximum = self.number(data, "min", path), self.number(data, "max", path)
        if kind == "number":
            if minimum is None or maximum is None or minimum > maximum:
                where = (*path, "max" if maximum is not None else "min")
                raise self.fail(where, "a number question needs min and max, min ≤ max")
        elif minimum is not None or maximum is not None:
            raise self.fail((*path, "min"), "only a number question has a range")
        condition = None
        if "ask_if" in data:
            condition = self.condition(data["ask_if"], (*path, "ask_if"), earlier)
        return Question(key, kind, texts, options, optional, minimum, maximum, dimension, condition)

    def check_sms(self, poll: Poll, path_of: dict[str, Path_]) -> None:
        """Every question, as SMS shows it (numbered options included), fits one SMS."""
        from bot.flows.poll_fields import sms_question  # the dialogue's own rendering

        for question in poll.questions:
            for language in sorted({"fr", *question.texts, *_option_languages(question)}):
                body = sms_question(poll, question, language)
                size = sms_size(body)
                if size.segments > 1:
                    raise self.fail(
                        (*path_of[question.key], "text", language),
                        f"is {size.segments} SMS with its options ({size.units} "
                        f"{size.encoding} characters as sent); a question must fit one SMS",
                    )

    def check_messages(self, poll: Poll) -> None:
        """The invitation and the reminder, as SMS sends them, are at most two SMS each."""
        for name, texts in (("invitation", poll.invitation), ("reminder", poll.reminder)):
            for language, text in texts.items():
                size = sms_size(cheapest_sms_text(text) if poll.sms_gsm_safe else text)
                if size.segments > MAX_MESSAGE_SMS:
                    raise self.fail(
                        (name, language),
                        f"is {size.segments} SMS as sent ({size.units} {size.encoding} "
                        f"characters); at most {MAX_MESSAGE_SMS}",
                    )

    def poll(self, data: Mapping[str, Any], stem: str | None) -> Poll:
        self.unknown_keys(data, POLL_KEYS, ())
        slug = self.name(data, "slug", stem, example="capacites")
        title = self.language_texts(data.get("title"), ("title",), one_line=True)
        invitation = self.language_texts(data.get("invitation"), ("invitation",))
        reminder = (
            self.language_texts(data["reminder"], ("reminder",)) if "reminder" in data else {}
        )
        days = data.get("reminder_days")
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
            raise self.fail(("reminder_days",), "must be a number of days, 1 or more")
        if days is not None and not reminder:
            raise self.fail(("reminder_days",), "needs a [reminder] text to send")
        opens = self.moment(data.get("opens"), ("opens",), end_of_day=False)
        closes = self.moment(data.get("closes"), ("closes",), end_of_day=True)
        if opens and closes and closes <= opens:
            raise self.fail(("closes",), "must come after opens")
        tables = data.get("questions")
        if not isinstance(tables, list) or not tables:
            raise self.fail(("questions",), "a poll needs at least one [[questions]] table")
        if len(tables) > MAX_QUESTIONS:
            raise self.fail(("questions",), f"at most {MAX_QUESTIONS} questions")
        earlier: dict[str, Question] = {}
        path_of: dict[str, Path_] = {}
        for n, table in enumerate(tables):
            question = self.question(table, ("questions", n), earlier)
            earlier[question.key] = question
            path_of[question.key] = ("questions", n)
        poll = Poll(
            slug=slug,
            title=title,
            description=self.text(data, "description", (), required=False),
            invitation=invitation,
            reminder=reminder,
            reminder_days=days,
            opens_at=opens,
            closes_at=closes,
            sms_gsm_safe=self.flag(data, "sms_gsm_safe", default=True),
            audience=self.audience(data.get("audience"), ("audience",), Audience()),
            questions=tuple(earlier.values()),
            review_pending=self.review(data.get("review")),
            whatsapp=self.whatsapp(data.get("whatsapp"), ("whatsapp",)),
            fallback=self.flag(data, "fallback", default=True),
        )
        self.check_sms(poll, path_of)
        self.check_messages(poll)
        return poll


def _option_languages(question: Question) -> set[str]:
    return {language for option in question.options for language in option.texts}


def parse_poll(text: str, file: str, stem: str | None = None) -> Poll:
    """A poll from a TOML file's text, or PollError naming file, line and field."""
    parser = _PollParser(file)
    return parser.poll(parser.load(text), stem)


def parse_poll_json(data: Any) -> Poll:
    """A poll from the API's JSON (the same fields as a file); errors name the field."""
    if not isinstance(data, Mapping):
        raise PollError("body", None, "body", "must be a JSON object")
    return _PollParser("body").poll(data, None)


def load_poll_file(path: Path) -> Poll:
    return parse_poll(path.read_text(encoding="utf-8"), str(path), path.stem)


def shipped_polls(directory: Path = POLLS_DIR) -> list[Path]:
    return sorted(directory.glob("*.toml"))
