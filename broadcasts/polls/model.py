"""A poll as data: questions of five kinds, texts per language, conditions, scores. Pure.

Stored as JSON in the polls table (`to_json`/`from_json`), never edited after launch, so a
definition read once can be cached by poll id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from broadcasts.model import Audience, WhatsAppPlan

KINDS = ("single", "multiple", "number", "yes_no", "text")
CHOICE_KINDS = ("single", "multiple", "yes_no")
DIMENSIONS = ("technical", "organisational", "operational")
YES_NO = ("yes", "no")


def text_in(texts: dict[str, str], language: str) -> str:
    """A member whose language has no text gets the French one."""
    return texts.get(language) or texts["fr"]


@dataclass(frozen=True)
class Option:
    key: str
    texts: dict[str, str]  # empty for yes/no: the labels are the catalog's Oui/Non
    score: float | None = None


@dataclass(frozen=True)
class Condition:
    """Ask the question only if an earlier answer is one of `values` (choices) or at least
    `at_least` (numbers). An earlier question left unanswered fails the condition."""

    question: str
    values: tuple[str, ...] = ()
    at_least: float | None = None

    def holds(self, answers: dict[str, Any]) -> bool:
        answer = answers.get(self.question)
        if answer is None:
            return False
        if self.at_least is not None:
            return isinstance(answer, int | float) and answer >= self.at_least
        chosen = answer if isinstance(answer, list | tuple) else [answer]
        return any(value in self.values for value in chosen)


@dataclass(frozen=True)
class Question:
    key: str
    kind: str
    texts: dict[str, str]
    options: tuple[Option, ...] = ()
    optional: bool = False
    minimum: float | None = None
    maximum: float | None = None
    dimension: str | None = None
    ask_if: Condition | None = None

    @property
    def option_keys(self) -> tuple[str, ...]:
        return tuple(option.key for option in self.options)

    def score_of(self, chosen: list[str] | tuple[str, ...]) -> float | None:
        """The score of an answer, None when the question is not scored."""
        if self.max_score is None:
            return None
        scores = {option.key: option.score or 0.0 for option in self.options}
        return float(sum(scores.get(key, 0.0) for key in chosen))

    @property
    def max_score(self) -> float | None:
        scored = [option.score for option in self.options if option.score is not None]
        if not scored or self.dimension is None:
            return None
        if self.kind == "multiple":
            return float(sum(score for score in scored if score > 0))
        return float(max(scored))


@dataclass(frozen=True)
class Poll:
    slug: str
    title: dict[str, str]
    invitation: dict[str, str]
    questions: tuple[Question, ...]
    audience: Audience = field(default_factory=Audience)
    reminder: dict[str, str] = field(default_factory=dict)
    reminder_days: int | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    sms_gsm_safe: bool = True
    description: str = ""
    review_pending: frozenset[str] = frozenset()  # languages no native speaker has reviewed yet
    # The invitation's and reminder's WhatsApp templates outside the 24 h window, and fallback.
    whatsapp: WhatsAppPlan | None = None
    fallback: bool = True

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)

    def position(self, key: str) -> int:
        return next(n for n, q in enumerate(self.questions) if q.key == key)

    def next_question(self, after: str | None, answers: dict[str, Any]) -> Question | None:
        """The next question to ask after `after` (None: from the start), conditions applied."""
        start = 0 if after is None else self.position(after) + 1
        for question in self.questions[start:]:
            if question.ask_if is None or question.ask_if.holds(answers):
                return question
        return None

    def previous_question(self, before: str, answers: dict[str, Any]) -> Question | None:
        for question in reversed(self.questions[: self.position(before)]):
            if question.ask_if is None or question.ask_if.holds(answers):
                return question
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "description": self.description,
            "invitation": self.invitation,
            "reminder": self.reminder,
            "reminder_days": self.reminder_days,
            "opens_at": self.opens_at.isoformat() if self.opens_at else None,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
            "sms_gsm_safe": self.sms_gsm_safe,
            "audience": self.audience.to_json(),
            "questions": [_question_json(q) for q in self.questions],
            "review": {"pending": sorted(self.review_pending)},
            "whatsapp": self.whatsapp.to_json() if self.whatsapp else None,
            "fallback": self.fallback,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Poll:
        return cls(
            slug=data["slug"],
            title=dict(data["title"]),
            description=data.get("description") or "",
            invitation=dict(data["invitation"]),
            reminder=dict(data.get("reminder") or {}),
            reminder_days=data.get("reminder_days"),
            opens_at=_moment(data.get("opens_at")),
            closes_at=_moment(data.get("closes_at")),
            sms_gsm_safe=data.get("sms_gsm_safe", True),
            audience=Audience.from_json(data.get("audience")),
            questions=tuple(_question_from(q) for q in data["questions"]),
            review_pending=frozenset((data.get("review") or {}).get("pending") or ()),
            whatsapp=WhatsAppPlan.from_json(data.get("whatsapp")),
            fallback=data.get("fallback", True),
        )


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _question_json(q: Question) -> dict[str, Any]:
    return {
        "key": q.key,
        "kind": q.kind,
        "texts": q.texts,
        "options": [{"key": o.key, "texts": o.texts, "score": o.score} for o in q.options],
        "optional": q.optional,
        "min": q.minimum,
        "max": q.maximum,
        "dimension": q.dimension,
        "ask_if": None
        if q.ask_if is None
        else {
            "question": q.ask_if.question,
            "in": list(q.ask_if.values),
            "at_least": q.ask_if.at_least,
        },
    }


def _question_from(data: dict[str, Any]) -> Question:
    condition = data.get("ask_if")
    return Question(
        key=data["key"],
        kind=data["kind"],
        texts=dict(data["texts"]),
        options=tuple(
            Option(o["key"], dict(o.get("texts") or {}), o.get("score"))
            for o in data.get("options") or ()
        ),
        optional=bool(data.get("optional")),
        minimum=data.get("min"),
        maximum=data.get("max"),
        dimension=data.get("dimension"),
        ask_if=None
        if not condition
        else Condition(
            condition["question"], tuple(condition.get("in") or ()), condition.get("at_least")
        ),
    )
