"""A poll's answers: one row per answer (long) or per respondent (wide); the XLSX adds the
counts and scores. Member ids only, no phone number, so a viewer's export needs no masking."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from broadcasts.polls import export, results
from broadcasts.polls import service as poll_service
from broadcasts.polls.model import Poll
from gateway.exports.output import attachment, choice
from gateway.keys import DATABASE
from storage import audit
from storage.database import Database
from storage.tabular import FORMATS, Table


async def answer_export(
    database: Database,
    actor: str,
    slug: str,
    format_: str,
    layout: str,
    details: Mapping[str, Any] | None = None,
) -> list[Table]:
    """The export's tables, once its audit entry is written; NotFound for an unknown poll."""
    row = await poll_service.poll_row(database, slug)
    poll = Poll.from_json(row.definition)
    tables = [export.answer_table(database, row.id, poll, layout)]
    if format_ == "xlsx":
        tables += export.summary_tables(await results.compute(database, slug))
    async with database.transaction() as connection:
        await audit.record(
            connection,
            actor,
            "poll.export",
            poll_service.target(slug),
            {"format": format_, "layout": layout, **(details or {})},
        )
    return tables


async def stream_answers(
    request: web.Request, actor: str, slug: str, query: Mapping[str, Any]
) -> web.StreamResponse:
    """?format=csv|xlsx&layout=long|wide, as an attachment."""
    format_ = choice(query, "format", tuple(FORMATS), "csv")
    layout = choice(query, "layout", export.LAYOUTS, "long")
    database = request.config_dict[DATABASE]  # the console is a sub-application
    tables = await answer_export(database, actor, slug, format_, layout)
    return await attachment(request, format_, f"{slug}-{layout}", tables)
