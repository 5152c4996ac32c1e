"""WhatsApp's templates as last synced from the Twilio account, and the 24 h window as SQL:
which of a broadcast's WhatsApp members wrote recently enough for free text."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.channels import traits
from broadcasts.model import Audience, TemplateRule, WhatsAppPlan, template_problem
from storage.audience import ranked_addresses, reachable
from storage.models import Address, WhatsAppTemplate
from storage.upsert import upsert

templates, addresses = WhatsAppTemplate.__table__, Address.__table__
APPROVED = "approved"
CHANNEL = "whatsapp"


@dataclass(frozen=True)
class Template:
    sid: str
    name: str
    language: str  # as Twilio has it: "fr", "en_US"…
    variables: dict[str, Any]
    body: str | None
    status: str  # WhatsApp's approval: approved, pending, rejected, unsubmitted…

    @property
    def approved(self) -> bool:
        return self.status == APPROVED


def primary_language(code: str) -> str:
    """ "fr_FR", "fr-FR", "FR" → "fr": how a template's language compares to a member's."""
    return code.replace("-", "_").split("_")[0].lower()


async def replace_templates(
    connection: AsyncConnection, found: Sequence[Template], now: datetime
) -> int:
    """The account's templates as listed now: new and changed ones written, gone ones deleted."""
    if found:
        statement = upsert(
            connection,
            templates,
            ("sid",),
            ("name", "language", "variables", "body", "status", "synced_at"),
        )
        await connection.execute(
            statement,
            [
                {
                    "sid": t.sid, "name": t.name, "language": t.language,
                    "variables": t.variables, "body": t.body, "status": t.status, "synced_at": now,
                }
                for t in found
            ],
        )  # fmt: skip
    gone = delete(templates)
    if found:
        gone = gone.where(templates.c.sid.not_in([t.sid for t in found]))
    await connection.execute(gone)
    return len(found)


async def load_templates(connection: AsyncConnection) -> list[Template]:
    rows = await connection.execute(
        select(templates).order_by(templates.c.name, templates.c.language, templates.c.sid)
    )
    return [
        Template(row.sid, row.name, row.language, dict(row.variables or {}), row.body, row.status)
        for row in rows
    ]


def template_for(name: str, language: str, known: Sequence[Template]) -> Template | None:
    """The approved template a plan names for members speaking `language`: the one of that name
    in that language when there is one (approved, or none); else, WhatsApp knowing few of
    Mali's languages, the approved one of that name filed under another language (a Bambara
    text may sit in a template filed as French)."""
    named = [t for t in known if t.name == name]
    same = [t for t in named if primary_language(t.language) == language]
    chosen = [t for t in (same or named) if t.approved]
    return chosen[0] if chosen else None


def template_rules(
    plan: WhatsAppPlan | None, known: Sequence[Template], fill: Any
) -> list[TemplateRule]:
    """The approved templates of a plan that WhatsApp would take, per language; `fill(language)`
    gives the variables. A language whose template would be refused (too long) has none."""
    if plan is None:
        return []
    rules = []
    for language, name in plan.templates.items():
        template = template_for(name, language, known)
        if template is not None:
            variables = fill(language)
            if template_problem(template.body, variables) is None:
                rules.append(TemplateRule(language, template.sid, variables))
    return rules


def template_problems(
    plan: WhatsAppPlan | None, known: Sequence[Template], fill: Any
) -> dict[str, str]:
    """Language → why the template named for it cannot go (not approved, too long)."""
    problems: dict[str, str] = {}
    for language, name in (plan.templates if plan else {}).items():
        template = template_for(name, language, known)
        if template is None:
            problems[language] = f"no approved template {name!r} (benkadi whatsapp templates sync)"
        elif (problem := template_problem(template.body, fill(language))) is not None:
            problems[language] = problem
    return problems


def inside_window(now: datetime) -> ColumnElement[bool]:
    """A WhatsApp address whose member wrote within the window."""
    hours = traits(CHANNEL).free_text_hours or 0
    return addresses.c.last_inbound_at >= now - timedelta(hours=hours)


async def window_counts(
    connection: AsyncConnection,
    audience: Audience,
    enabled_channels: Collection[str],
    now: datetime,
) -> dict[str, tuple[int, int]]:
    """The broadcast's WhatsApp members per language: (inside the window, outside it)."""
    dialect = connection.dialect.name
    chosen = reachable(audience, enabled_channels, dialect).subquery()
    inside = inside_window(now)
    query = (
        select(
            chosen.c.language,
            func.sum(case((inside, 1), else_=0)),
            func.count(),
        )
        .select_from(chosen.join(addresses, addresses.c.id == chosen.c.address_id))
        .where(chosen.c.channel == CHANNEL)
        .group_by(chosen.c.language)
    )
    result = {}
    for language, inside_count, total in await connection.execute(query):
        inside_count = int(inside_count or 0)
        result[language] = (inside_count, int(total) - inside_count)
    return result


async def outside_window_next(
    connection: AsyncConnection,
    audience: Audience,
    enabled_channels: Collection[str],
    now: datetime,
) -> list[tuple[str, str | None, int]]:
    """The broadcast's WhatsApp members outside the window: (language, their next usable
    channel or None, members), for the preview of who gets a template and who falls back."""
    dialect = connection.dialect.name
    first = ranked_addresses(audience, enabled_channels, dialect)
    second = ranked_addresses(audience, enabled_channels, dialect).element.subquery("next")
    query = (
        select(first.c.language, second.c.channel, func.count())
        .select_from(
            first.join(addresses, addresses.c.id == first.c.address_id).outerjoin(
                second, (second.c.member_id == first.c.member_id) & (second.c.choice == 2)
            )
        )
        .where(
            first.c.choice == 1,
            first.c.channel == CHANNEL,
            ~func.coalesce(inside_window(now), False),
        )
        .group_by(first.c.language, second.c.channel)
        .order_by(first.c.language, second.c.channel)
    )
    return [(language, channel, int(n)) for language, channel, n in await connection.execute(query)]


async def outside_window_sms(
    connection: AsyncConnection,
    audience: Audience,
    enabled_channels: Collection[str],
    now: datetime,
    languages: Collection[str],
) -> list[tuple[str, str, int]]:
    """The SMS address (language, recipient, address id) that each WhatsApp member outside the
    window, in one of `languages`, falls back to when SMS is their next channel: the preview
    prices those by the route each would take."""
    if not languages:
        return []
    dialect = connection.dialect.name
    first = ranked_addresses(audience, enabled_channels, dialect)
    second = ranked_addresses(audience, enabled_channels, dialect).element.subquery("next")
    query = (
        select(first.c.language, second.c.recipient, second.c.address_id)
        .select_from(
            first.join(addresses, addresses.c.id == first.c.address_id).join(
                second, (second.c.member_id == first.c.member_id) & (second.c.choice == 2)
            )
        )
        .where(
            first.c.choice == 1,
            first.c.channel == CHANNEL,
            first.c.language.in_(sorted(languages)),
            second.c.channel == "sms",
            ~func.coalesce(inside_window(now), False),
        )
    )
    return [tuple(row) for row in await connection.execute(query)]
