"""An outbox row for a reply: rendered for the address's channel, in the member's language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row

from bot.model import Reply
from bot.render import render_for_channel
from bot.vocabulary.i18n import use_locale
from storage.outbox.rows import reply_row


def outbox_row(
    address: Row,
    member_id: int | None,
    reply: Reply,
    language: str,
    now: datetime,
    edits: str | None = None,
) -> dict:
    """A reply to send; with `edits`, new buttons for the message of that id instead."""
    with use_locale(language):
        body, choices = render_for_channel(reply, address.channel)
    return reply_row(
        address_id=address.id,
        member_id=member_id,
        channel=address.channel,
        recipient=address.address,
        body=body,
        choices=choices,
        now=now,
        edits=edits,
    )
