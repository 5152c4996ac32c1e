"""The poll editor's form, both ways: the fields of a Poll for the page, and the poll file's
fields (the API's JSON, so broadcasts.polls.parse checks it) from a posted form, with the
secretariat's mistakes named in French on their field, all at once, before anything is saved.

Fields: `title_fr`, `invitation_bm`, …; question n: `q{n}_key`, `q{n}_kind`, `q{n}_text_{lang}`,
`q{n}_if`/`q{n}_if_in` (ask only if an earlier answer is one of these keys, or at least N),
option m: `q{n}_o{m}_key`, `q{n}_o{m}_text_{lang}`, `q{n}_o{m}_score`. Blank rows are ignored
(the page always offers one more question and two more choices).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from multidict import MultiDictProxy

from bot.vocabulary.i18n import LANGUAGES
from bot.vocabulary.sms_text import cheapest_sms_text, sms_size
from broadcasts.model import BAMAKO
from broadcasts.polls.model import Poll
from gateway.console import poll_errors
from gateway.console.broadcasts import AUDIENCE_FIELDS
from gateway.console.i18n import C_

MAX_SMS = 2  # an invitation or a reminder: at most two SMS
SPARE_OPTIONS = 2
_NUMBERED = re.compile(r"^questions\[(\d+)\](?:\.options\[(\d+)\])?\.?(.*)$")


def _text(form: Mapping[str, Any], name: str) -> str:
    return str(form.get(name, "") or "").strip()


def _texts(form: Mapping[str, Any], prefix: str) -> dict[str, str]:
    return {
        lang: _text(form, f"{prefix}_{lang}")
        for lang in LANGUAGES
        if _text(form, f"{prefix}_{lang}")
    }


def _number(value: str) -> float | int | None:
    if not value:
        return None
    number = float(value.replace(",", "."))
    if not math.isfinite(number):  # "inf", "1e999": not a number a question can take
        raise ValueError(value)
    return int(number) if number == int(number) else number


def _count(form: Mapping[str, Any], name: str, default: int) -> int:
    try:
        return max(0, min(int(_text(form, name) or default), 60))
    except ValueError:
        return default


def _moment(value: str) -> str | None:
    """A datetime-local value, Bamako time, as the file's ISO date-time."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace(" ", "T"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=BAMAKO)).isoformat()


def read(form: MultiDictProxy[Any] | Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the poll file's fields, French messages by form field). Messages non-empty: do not
    save; the page shows the form again with each field marked."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {"slug": _text(form, "slug")}
    for name in ("title", "invitation", "reminder"):
        texts = _texts(form, name)
        if texts and "fr" not in texts:
            errors[f"{name}_fr"] = C_("Le texte en français est obligatoire.")
        if texts or name != "reminder":
            data[name] = texts
    if not _texts(form, "title"):
        errors["title_fr"] = C_("Le texte en français est obligatoire.")
    if not _texts(form, "invitation"):
        errors["invitation_fr"] = C_("Le texte en français est obligatoire.")
    gsm = form.get("sms_gsm_safe") == "on"
    for name in ("invitation", "reminder"):
        for lang, text in (data.get(name) or {}).items():
            segments = sms_size(cheapest_sms_text(text) if gsm else text).segments
            if segments > MAX_SMS:
                errors[f"{name}_{lang}"] = C_("Texte trop long : %(n)s SMS (au plus 2).") % {
                    "n": segments
                }
    if _text(form, "description"):
        data["description"] = _text(form, "description")
    data["sms_gsm_safe"] = gsm
    for name, key in (("opens", "opens"), ("closes", "closes")):
        try:
            moment = _moment(_text(form, name))
        except ValueError:
            errors[name] = C_("Date invalide (AAAA-MM-JJ HH:MM, heure de Bamako).")
            continue
        if moment:
            data[key] = moment
    if "opens" in data and "closes" in data and data["closes"] <= data["opens"]:
        errors["closes"] = C_("La clôture doit venir après l'ouverture.")
    days = _text(form, "reminder_days")
    if days:
        if not days.isdecimal() or int(days) < 1:  # isdigit() takes "²", which int() refuses
            errors["reminder_days"] = C_("Un nombre de jours, 1 ou plus.")
        elif not data.get("reminder"):
            errors["reminder_fr"] = C_("Un rappel demande son texte.")
        else:
            data["reminder_days"] = int(days)
    audience = (
        {key: list(form.getall(key, [])) for key in AUDIENCE_FIELDS}
        if hasattr(form, "getall")
        else {}
    )
    chosen: dict[str, Any] = {key: value for key, value in audience.items() if value}
    if _text(form, "registered_since"):  # a date, as the broadcast form's (the parser checks it)
        chosen["registered_since"] = _text(form, "registered_since")
    if chosen:
        data["audience"] = chosen
    data["questions"] = _questions(form, errors)
    return data, errors


def _questions(form: Mapping[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    questions: list[dict[str, Any]] = []
    keys: list[str] = []
    for n in range(_count(form, "questions", 1)):
        p = f"q{n}"
        texts = _texts(form, f"{p}_text")
        if not texts and not _text(form, f"{p}_key"):
            continue  # the spare question
        key = _text(form, f"{p}_key") or f"q{n + 1}"
        kind = _text(form, f"{p}_kind") or "single"
        question: dict[str, Any] = {"key": key, "kind": kind, "text": texts}
        if "fr" not in texts:
            errors[f"{p}_text_fr"] = C_("Le texte en français est obligatoire.")
        if form.get(f"{p}_optional") == "on":
            question["optional"] = True
        if _text(form, f"{p}_dimension"):
            question["dimension"] = _text(form, f"{p}_dimension")
        try:
            if kind == "number":
                low, high = _number(_text(form, f"{p}_min")), _number(_text(form, f"{p}_max"))
                if low is None or high is None or low > high:
                    errors[f"{p}_max"] = C_(
                        "Un nombre demande un minimum et un maximum (min ≤ max)."
                    )
                question["min"], question["max"] = low, high
            elif kind == "yes_no":
                scores = {k: _number(_text(form, f"{p}_{k}")) for k in ("yes", "no")}
                if any(v is not None for v in scores.values()):
                    question["options"] = {k: v for k, v in scores.items() if v is not None}
            elif kind in ("single", "multiple"):
                question["options"] = _options(form, p, errors)
                if len(question["options"]) < 2:
                    errors[f"{p}_options"] = C_("Il faut au moins deux choix.")
        except ValueError:
            errors[f"{p}_options"] = C_("Un score, un minimum ou un maximum doit être un nombre.")
        target = _text(form, f"{p}_if")
        if target:
            if target not in keys:
                errors[f"{p}_if"] = C_("La condition doit porter sur une question précédente.")
            values = [v.strip() for v in _text(form, f"{p}_if_in").split(",") if v.strip()]
            earlier = next((q for q in questions if q["key"] == target), None)
            if earlier is not None and earlier["kind"] == "number":
                least = re.sub(
                    r"^\s*(au\s+moins|>=|≥)\s*", "", _text(form, f"{p}_if_in"), flags=re.I
                )
                try:  # "3", "au moins 3", ">= 3" or "2,5": the label says « au moins » un nombre
                    question["ask_if"] = {"question": target, "at_least": _number(least.strip())}
                    if question["ask_if"]["at_least"] is None:
                        raise ValueError(least)
                except ValueError:
                    errors[f"{p}_if"] = C_("Pour un nombre : « au moins » suivi d'un nombre.")
            else:
                question["ask_if"] = {"question": target, "in": values}
        keys.append(key)
        questions.append(question)
    if not questions:
        errors["q0_text_fr"] = C_("Un sondage demande au moins une question.")
    return questions


def _options(form: Mapping[str, Any], p: str, errors: dict[str, str]) -> list[dict[str, Any]]:
    options = []
    for m in range(_count(form, f"{p}_options", SPARE_OPTIONS)):
        o = f"{p}_o{m}"
        texts = _texts(form, f"{o}_text")
        if not texts and not _text(form, f"{o}_key"):
            continue
        if "fr" not in texts:
            errors[f"{o}_text_fr"] = C_("Le texte en français est obligatoire.")
        option: dict[str, Any] = {"key": _text(form, f"{o}_key") or f"c{m + 1}", "text": texts}
        score = _number(_text(form, f"{o}_score"))
        if score is not None:
            option["score"] = score
        options.append(option)
    return options


def field_of(parser_field: str) -> str:
    """The form field of a parser's error: questions[3].options[2].text.bm → q2_o1_text_bm
    (the parser counts tables from 1, as a file's author does; the form from 0)."""
    found = _NUMBERED.match(parser_field)
    if found is None:
        head, _, rest = parser_field.partition(".")
        if head == "audience" and rest in ("registered_since", *AUDIENCE_FIELDS):
            return "registered_since" if rest == "registered_since" else "audience"
        if head in ("title", "invitation", "reminder") and not rest:
            return f"{head}_fr"  # the texts as a whole: French is the one required
        return f"{head}_{rest}" if rest in LANGUAGES else head.split("[")[0]
    n, m, rest = int(found[1]) - 1, found[2], found[3]
    prefix = f"q{n}" if m is None else f"q{n}_o{int(m) - 1}"
    rest = rest.replace(".", "_")
    if rest.startswith("ask_if"):
        return f"q{n}_if"
    if m is None and rest == "options":
        return f"q{n}_options"
    if rest == "text":
        return f"{prefix}_text_fr"
    return f"{prefix}_{rest}" if rest else f"{prefix}_text_fr"


def parser_message(field: str, message: str) -> str:
    """The parser's English message, in French where the secretariat meets it."""
    return poll_errors.french(field, message)


def form_of(poll: Poll, revision: int | None = None) -> dict[str, Any]:
    """The page's fields for a poll (its questions, one spare question and spare choices)."""
    form: dict[str, Any] = {"slug": poll.slug, "description": poll.description}
    for name, texts in (
        ("title", poll.title),
        ("invitation", poll.invitation),
        ("reminder", poll.reminder),
    ):
        for lang, text in texts.items():
            form[f"{name}_{lang}"] = text
    if poll.reminder_days is not None:
        form["reminder_days"] = str(poll.reminder_days)
    for name, moment in (("opens", poll.opens_at), ("closes", poll.closes_at)):
        if moment is not None:
            form[name] = moment.astimezone(BAMAKO).strftime("%Y-%m-%dT%H:%M")
    if poll.sms_gsm_safe:
        form["sms_gsm_safe"] = "on"
    for key, values in poll.audience.to_json().items():
        if isinstance(values, list):
            form[key] = values
        elif key == "registered_since" and values:
            form[key] = values
    for n, q in enumerate(poll.questions):
        p = f"q{n}"
        form[f"{p}_key"], form[f"{p}_kind"] = q.key, q.kind
        for lang, text in q.texts.items():
            form[f"{p}_text_{lang}"] = text
        if q.optional:
            form[f"{p}_optional"] = "on"
        form[f"{p}_dimension"] = q.dimension or ""
        for bound, value in (("min", q.minimum), ("max", q.maximum)):
            form[f"{p}_{bound}"] = "" if value is None else _plain(value)
        if q.kind == "yes_no":
            for option in q.options:
                form[f"{p}_{option.key}"] = "" if option.score is None else _plain(option.score)
        else:
            for m, option in enumerate(q.options):
                o = f"{p}_o{m}"
                form[f"{o}_key"] = option.key
                for lang, text in option.texts.items():
                    form[f"{o}_text_{lang}"] = text
                form[f"{o}_score"] = "" if option.score is None else _plain(option.score)
        form[f"{p}_options"] = str(
            len(q.options) + SPARE_OPTIONS if q.kind != "yes_no" else SPARE_OPTIONS
        )
        if q.ask_if is not None:
            form[f"{p}_if"] = q.ask_if.question
            form[f"{p}_if_in"] = (
                _plain(q.ask_if.at_least)
                if q.ask_if.at_least is not None
                else ", ".join(q.ask_if.values)
            )
    form["questions"] = str(len(poll.questions) + 1)
    if revision is not None:
        form["revision"] = str(revision)
    return form


def _plain(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
