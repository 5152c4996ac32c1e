"""An outbox row for a reply: rendered for the address's channel, in the member's language."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Row

from bot.model import Reply
from bot.render import render_for_channel
from bot.vocabulary.i18n import use_locale
from bot.vocabulary.wording import PLAIN, Wording
from storage.outbox.rows import reply_row


def outbox_row(
    address: Row,
    member_id: int | None,
    reply: Reply,
    language: str,
    now: datetime,
    edits: str | None = None,
    wording: Wording = PLAIN,
) -> dict:
    """A reply to send; with `edits`, new buttons for the message of that id instead."""
    with use_locale(language):
        if wording is not PLAIN:  # discreet deployments (bot/vocabulary/wording.py)
            reply = replace(
                reply,
                text=wording.apply(reply.text),
                choices=tuple((key, wording.apply(label)) for key, label in reply.choices),
            )
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
