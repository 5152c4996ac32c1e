"""WhatsApp templates of the Twilio account, read through the twilio SDK's Content API.

One listing, `content_and_approvals`, gives each template with its WhatsApp approval status:
name (friendly_name), language, variables and body. Only approved templates may go outside
WhatsApp's 24 h window; the others are kept too, so the secretariat sees what is pending.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bot.vocabulary.errors import Invalid
from gateway.channels.base import redact
from storage.whatsapp import Template

log = logging.getLogger(__name__)
PAGE_SIZE = 100


class TemplatesUnavailable(Invalid):
    """Twilio did not list the templates (credentials, network): nothing stored changes."""


def approval_status(approvals: Mapping[str, Any] | None) -> str:
    """The WhatsApp approval status, flat (ContentAndApprovals) or under "whatsapp"."""
    approvals = approvals or {}
    whatsapp = approvals.get("whatsapp")
    if isinstance(whatsapp, Mapping):
        approvals = whatsapp
    return str(approvals.get("status") or "unsubmitted").lower()


def template_body(types: Mapping[str, Any] | None) -> str | None:
    """The text of a template, whatever its content type (twilio/text, quick-reply, card…)."""
    for content in (types or {}).values():
        if isinstance(content, Mapping) and isinstance(content.get("body"), str):
            return str(content["body"])
    return None


async def fetch_templates(account_sid: str, auth_token: str, content_url: str) -> list[Template]:
    http = AsyncTwilioHttpClient(timeout=30)
    try:
        client = Client(account_sid, auth_token, http_client=http)
        client.content.base_url = content_url
        listed = await client.content.v1.content_and_approvals.list_async(page_size=PAGE_SIZE)
    except (TimeoutError, TwilioException, aiohttp.ClientError, OSError) as error:
        raise TemplatesUnavailable(_why(error, auth_token)) from error
    finally:
        await http.close()
    return [
        Template(
            sid=str(item.sid),
            name=str(item.friendly_name or item.sid),
            language=str(item.language or ""),
            variables=dict(item.variables or {}),
            body=template_body(item.types),
            status=approval_status(item.approval_requests),
        )
        for item in listed
        if item.sid
    ]


def _why(error: Exception, secret: str) -> str:
    if isinstance(error, TwilioRestException):
        return redact(
            f"Twilio refused to list the templates: {error.msg} ({error.code})", (secret,)
        )
    response = error.args[1] if isinstance(error, TwilioException) and len(error.args) > 1 else None
    status = getattr(response, "status_code", None)
    if status in (401, 403):
        return "Twilio refused the credentials: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
    if status is not None:
        return f"Twilio answered {status} to the templates' listing"
    return redact(f"Twilio could not be reached: {error!r}", (secret,))
