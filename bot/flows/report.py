"""RAPPORT: an activity report, guided question by question or in one line, then confirmed.

Steps: activity → when → region (keep the profile's, or pick) → commune → beneficiaries →
description → photo (Telegram) → confirm (confirm / edit / cancel). The one-line form fills what it
can and the guided questions ask the rest. The draft lives in the conversation state only (it
expires and is offered for resume like any dialogue); the report is stored on confirm, never before.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.fields import Value
from bot.flows.common import ask, read, reprompt
from bot.model import Context, Outcome, Reply, SaveReport, State
from bot.render import choice_hint
from bot.report_line import (
    COUNT_FIELDS,
    Problem,
    activity_of,
    line_rest,
    parse_counts,
    parse_date,
    parse_line,
)
from bot.vocabulary.i18n import _
from bot.vocabulary.reference import ACTIVITY_LABELS, ACTIVITY_TYPES, REGION_LABELS
from bot.vocabulary.text import SKIP, fold, match_choice

FLOW = "report"
SKIP_KEY = "skip"
ORDER = ("activity", "when", "region_keep", "commune", "beneficiaries", "description", "photo")
DESCRIPTION_MAX = 1000


def _why(code: str, ctx: Context) -> str:
    texts = {
        "date_unreadable": lambda: _(
            "Je n'ai pas compris cette date. Écrivez-la comme 12/11 ou 12/11/2026."
        ),
        "date_future": lambda: _("Cette date est dans le futur."),
        "date_old": lambda: _("Cette date a plus d'un an : le rapport porte sur l'année écoulée."),
        "activity_unknown": lambda: (
            _("Je ne connais pas ce type d'activité.")
            + " "
            + choice_hint(ctx.inbound.style, len(ACTIVITY_TYPES))
        ),
        "counts_format": lambda: _(
            "Il faut 4 nombres : femmes, hommes, filles, garçons. Ex. 25 10 5 3"
        ),
        "counts_negative": lambda: _("Les nombres ne peuvent pas être négatifs."),
        "counts_too_many": lambda: _("Ce nombre est trop grand (au plus {max}).").format(
            max=ctx.report_max_beneficiaries
        ),
        "description": lambda: _("Décrivez l'activité en 2 à {max} caractères.").format(
            max=DESCRIPTION_MAX
        ),
        "photo": lambda: _("Envoyez une photo, ou répondez Passer."),
        "commune": lambda: _("Écrivez le nom de la commune, ou 0 pour passer."),
    }
    return texts[code]()


def _reminder() -> str:
    return _("Rappel : n'écrivez jamais le nom d'une survivante.")


def _activity_choices() -> tuple[tuple[str, str], ...]:
    return tuple((key, _(label)) for key, label in ACTIVITY_TYPES)


def _summary(ctx: Context, data: dict[str, Any]) -> str:
    counts = [data.get(name) or 0 for name in COUNT_FIELDS]
    place = REGION_LABELS.get(data.get("region") or "", "-")
    if data.get("commune"):
        place += f", {data['commune']}"
    activity = _(ACTIVITY_LABELS.get(data.get("activity") or "", "-"))
    when = date.fromisoformat(data["date"]).strftime("%d/%m/%Y")
    beneficiaries = _(
        "Bénéficiaires : {women} femmes, {men} hommes, {girls} filles, {boys} garçons"
    ).format(women=counts[0], men=counts[1], girls=counts[2], boys=counts[3])
    lines = [
        _("Activité") + f" : {activity}",
        _("Date") + f" : {when}",
        _("Lieu") + f" : {place}",
        beneficiaries + f" (= {sum(counts)})",
        _("Description") + f" : {data.get('description') or '-'}",
    ]
    if ctx.inbound.traits.asks_for_photo or data.get("photo"):
        photo = _("oui") if data.get("photo") else _("non")
        lines.append(_("Photo") + f" : {photo}")
    return "\n".join(lines)


def _edit_choices(ctx: Context) -> tuple[tuple[str, str], ...]:
    choices = [
        ("activity", _("Activité")),
        ("when", _("Date")),
        ("region", _("Région")),
        ("commune", _("Commune")),
        ("beneficiaries", _("Bénéficiaires")),
        ("description", _("Description")),
    ]
    if ctx.inbound.traits.asks_for_photo:
        choices.append(("photo", _("Photo")))
    return tuple(choices)


def _confirm_choices() -> tuple[tuple[str, str], ...]:
    return (("confirm", _("Confirmer")), ("edit", _("Modifier")), ("cancel", _("Annuler")))


def ask_current(ctx: Context, state: State) -> Reply:
    """The question of a step (also after a pause or a help request)."""
    step, data = state.step, state.data
    if step == "activity":
        return Reply(_("Quel type d'activité ?"), _activity_choices())
    if step == "when":
        choices = (("today", _("Aujourd'hui")), ("yesterday", _("Hier")))
        return Reply(
            _("Quand a eu lieu l'activité ? Choisissez, ou écrivez la date (ex. 12/11)."), choices
        )
    if step == "region_keep":
        region = REGION_LABELS.get((ctx.member.region if ctx.member else None) or "", "")
        choices = (("keep", region), ("change", _("Une autre région")))
        return Reply(_("Dans quelle région ?"), choices)
    if step == "region":
        return ask(ctx, state)
    if step == "commune":
        if ctx.inbound.style == "buttons":
            return Reply(_("Dans quelle commune ?"), ((SKIP_KEY, _("Passer")),))
        return Reply(_("Dans quelle commune ? (0 pour passer)"))
    if step == "beneficiaries":
        return Reply(
            _(
                "Combien de bénéficiaires ? 4 nombres : femmes, hommes, filles, garçons. "
                "Ex. 25 10 5 3 (0 si aucun)"
            )
        )
    if step == "description":
        return Reply(_("Décrivez l'activité en quelques mots, dans la langue de votre choix."))
    if step == "photo":
        return Reply(_("Envoyez une photo de l'activité, ou passez."), ((SKIP_KEY, _("Passer")),))
    if step == "edit":
        return Reply(_("Que voulez-vous modifier ?"), _edit_choices(ctx))
    text = _("Vérifiez votre rapport :") + "\n" + _summary(ctx, data)
    return Reply(text, _confirm_choices())


def _done(ctx: Context, data: dict[str, Any], step: str) -> bool:
    if step == "activity":
        return "activity" in data
    if step == "when":
        return "date" in data
    if step == "region_keep":
        return "region" in data
    if step in ("commune", "description", "photo"):
        return step in data or (step == "photo" and not ctx.inbound.traits.asks_for_photo)
    return "women" in data  # beneficiaries


def _go(ctx: Context, data: dict[str, Any], prefix: str | None = None) -> Outcome:
    """Ask the next unanswered question (or the summary), with why, reminder and prefix."""
    data = dict(data)
    if data.pop("editing", False):
        step = "confirm"
    else:
        step = next((s for s in ORDER if not _done(ctx, data, s)), "confirm")
    if step == "region_keep" and not (ctx.member and ctx.member.region):
        step = "region"
    state = State(FLOW, step, data)
    reply = ask_current(ctx, state)
    notes = [prefix] if prefix else []
    if step in ("description", "confirm") and not data.get("reminded"):
        notes.append(_reminder())  # once per report, before the member writes or sends it
        data["reminded"] = True
    why = data.get("why", {}).pop(step, None) if isinstance(data.get("why"), dict) else None
    if why:
        notes.append(_why(why, ctx))
    if notes:
        reply = Reply("\n".join([*notes, reply.text]), reply.choices, reply.page)
    return Outcome((reply,), State(FLOW, step, data))


def _with_media(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    media = ctx.inbound.media
    if media:
        return {**data, "photo": media, "media_kind": ctx.inbound.traits.media_kind}
    return data


def start(ctx: Context) -> Outcome:
    if ctx.member is None:
        text = _(
            "Seuls les membres inscrits peuvent envoyer un rapport. "
            "Envoyez INSCRIPTION pour vous inscrire."
        )
        return Outcome((Reply(text),), None)
    rest = line_rest(ctx.inbound.text) if not ctx.inbound.button else None
    data: dict[str, Any] = _with_media(ctx, {"channel": ctx.inbound.channel})
    if not rest:
        intro = _("Rapport d'activité en quelques questions. ANNULER pour arrêter.")
        return _go(ctx, data, intro)
    parsed = parse_line(rest, ctx.now.date(), ctx.report_max_beneficiaries)
    data.update(parsed.values)
    if "region" in data and "commune" not in data:
        data["commune"] = None
    # A region named in the line stands; none named: the profile's, to keep or change.
    data["why"] = dict(parsed.problems)
    return _go(ctx, data)


def answer(ctx: Context, state: State) -> Outcome:
    if ctx.member is None:  # erased from another channel meanwhile
        return start(ctx)
    step = state.step
    data = _with_media(ctx, dict(state.data))
    text = ctx.inbound.button or ctx.inbound.text
    if ctx.inbound.media and step != "photo" and not text.strip():
        # A photo sent ahead of its question: kept, and the current question stands.
        question = ask_current(ctx, State(FLOW, step, data))
        return Outcome((Reply(_("Photo reçue.")), question), State(FLOW, step, data))
    if step == "activity":
        key = activity_of(text) or match_choice(text, _activity_choices())
        if key is None:
            return _again(ctx, state, "activity_unknown")
        return _go(ctx, {**data, "activity": key})
    if step == "when":
        choice = match_choice(text, ask_current(ctx, state).choices)
        when = parse_date(choice or text, ctx.now.date())  # "today"/"yesterday" are read too
        if isinstance(when, Problem):
            return _again(ctx, state, when.code)
        return _go(ctx, {**data, "date": when.isoformat()})
    if step == "region_keep":
        choice = match_choice(text, ask_current(ctx, state).choices)
        if choice == "keep":
            return _go(ctx, {**data, "region": ctx.member.region})
        if choice == "change":
            return _go_step(ctx, data, "region")
        return _again(ctx, state, "choice", count=2)
    if step == "region":
        parsed, new_state = read(ctx, state)
        if not isinstance(parsed, Value):
            return reprompt(ctx, new_state, parsed)
        return _go(ctx, {**new_state.data, "region": parsed.value})
    if step == "commune":
        if ctx.inbound.button == SKIP_KEY or fold(text) in SKIP:
            return _go(ctx, {**data, "commune": None})
        commune = " ".join(text.split())
        if len(commune) < 2:
            return _again(ctx, state, "commune")
        return _go(ctx, {**data, "commune": commune[:200]})
    if step == "beneficiaries":
        counts = parse_counts(text, ctx.report_max_beneficiaries)
        if isinstance(counts, Problem):
            return _again(ctx, state, counts.code)
        return _go(ctx, {**data, **dict(zip(COUNT_FIELDS, counts, strict=True))})
    if step == "description":
        description = text.strip()
        if not 2 <= len(description) <= DESCRIPTION_MAX:
            return _again(ctx, state, "description")
        return _go(ctx, {**data, "description": description})
    if step == "photo":
        if ctx.inbound.media:
            return _go(ctx, data)
        if ctx.inbound.button == SKIP_KEY or fold(text) in SKIP:
            return _go(ctx, {**data, "photo": None})
        return _again(ctx, state, "photo")
    if step == "edit":
        field = match_choice(text, _edit_choices(ctx))
        if field is None:
            return _again(ctx, state, "choice", count=len(_edit_choices(ctx)))
        return _go_step(ctx, {**data, "editing": True}, field)
    return _confirm(ctx, state, data, text)


def _confirm(ctx: Context, state: State, data: dict[str, Any], text: str) -> Outcome:
    choice = match_choice(text, _confirm_choices())
    if choice == "confirm":
        saved = {k: v for k, v in data.items() if k not in ("why", "reminded", "editing", "page")}
        saved["channel"] = saved.get("channel") or ctx.inbound.channel
        reply = Reply(_("Merci ! Votre rapport est enregistré. La coordination va le valider."))
        return Outcome((reply,), None, (SaveReport(saved),))
    if choice == "edit":
        return _go_step(ctx, data, "edit")
    if choice == "cancel":
        return Outcome((Reply(_("Rapport annulé. Rien n'a été gardé.")),), None)
    return _again(ctx, State(FLOW, "confirm", data), "choice", count=3)


def _go_step(ctx: Context, data: dict[str, Any], step: str) -> Outcome:
    """A given step (editing one answer, or picking another region)."""
    state = State(FLOW, step, {k: v for k, v in data.items() if k != "page"})
    return Outcome((ask_current(ctx, state),), state)


def _again(ctx: Context, state: State, code: str, count: int | None = None) -> Outcome:
    """The question again, with why, in the member's language."""
    why = choice_hint(ctx.inbound.style, count or 0) if code == "choice" else _why(code, ctx)
    reply = ask_current(ctx, state)
    return Outcome((Reply(f"{why}\n{reply.text}", reply.choices, reply.page),), state)
