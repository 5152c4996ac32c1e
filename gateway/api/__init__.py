"""The HTTP API under /api/v1: one module per resource, each with its `add_routes(app)`.

common.py holds what they share (the endpoint decorator: token and role; JSON answers; body,
path id, limit), auth.py the tokens and roles, errors.py the one middleware that turns domain
errors into 4xx JSON. A new resource is a module here and one line in RESOURCES.
"""

from __future__ import annotations

from aiohttp import web

from gateway.api import (
    audit,
    broadcasts,
    campaigns,
    members,
    organisations,
    poll_drafts,
    polls,
    reports,
    tokens,
)

RESOURCES = (broadcasts, members, organisations, campaigns, polls, poll_drafts, reports, tokens, audit)


def add_routes(app: web.Application) -> None:
    """Every resource's routes, on the main application."""
    for resource in RESOURCES:
        resource.add_routes(app)
