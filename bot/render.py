"""Turning a reply into what a channel shows: buttons, or a numbered list paged to fit an SMS."""

from __future__ import annotations

from bot.model import Reply
from bot.vocabulary.channels import Style, traits
from bot.vocabulary.i18n import _
from bot.vocabulary.sms_text import GSM7_SINGLE, cheapest_sms_text, sms_size

PAGED_FROM = 8  # shorter lists go whole, even over two SMS, rather than hide choices


def choice_hint(style: Style, count: int) -> str:
    """How to answer a choice, as the channel shows it: buttons carry no numbers."""
    if style == "buttons":
        return _("Touchez un des boutons ci-dessous.")
    return _("Répondez par un numéro de 1 à {count}.").format(count=count)


def many_hint(style: Style, count: int) -> str:
    if style == "buttons":
        return _("Touchez un ou plusieurs boutons, puis Terminé.")
    return _("Répondez par un ou plusieurs numéros de 1 à {count}, ex. 1 3").format(count=count)


def yes_no_hint(style: Style) -> str:
    if style == "buttons":
        return _("Touchez Oui ou Non.")
    return _("Répondez 1 (Oui) ou 2 (Non).")


def _choice_lines(reply: Reply, start: int, end: int) -> list[str]:
    return [
        f"{index + 1} {label}"
        for index, (_key, label) in enumerate(reply.choices[start:end], start)
    ]


def sms_page(reply: Reply, start: int = 0, limit: int = GSM7_SINGLE) -> tuple[str, int | None]:
    """The SMS for a reply whose numbered list begins at `start`, and where the next page begins.

    A list that does not fit one SMS is cut into pages ending in "0 Suite"; numbers stay global,
    so "3" means the third choice whichever page is showing.
    """
    choices = reply.choices
    if not choices:
        return cheapest_sms_text(reply.text), None
    whole = cheapest_sms_text("\n".join([reply.text, *_choice_lines(reply, start, len(choices))]))
    fits = sms_size(whole).units <= limit
    if (start == 0 and (fits or len(choices) < PAGED_FROM)) or len(choices) - start <= 1:
        return whole, None
    more = _("0 Suite")
    end = start + 1
    while end < len(choices):
        candidate = "\n".join([reply.text, *_choice_lines(reply, start, end + 1), more])
        if sms_size(cheapest_sms_text(candidate)).units > limit:
            break
        end += 1
    if end >= len(choices):
        return cheapest_sms_text("\n".join([reply.text, *_choice_lines(reply, start, end)])), None
    body = "\n".join([reply.text, *_choice_lines(reply, start, end), more])
    return cheapest_sms_text(body), end


def render_for_channel(reply: Reply, channel: str) -> tuple[str, list[list[str]] | None]:
    """(body, buttons): buttons where the channel has them, else a numbered list in the text."""
    shown = traits(channel)
    if shown.buttons:
        return reply.text, [[key, label] for key, label in reply.choices] or None
    if not shown.billed_by_segment:  # no paging, letters as written
        lines = _choice_lines(reply, 0, len(reply.choices))
        return "\n".join([reply.text, *lines]), None
    return sms_page(reply, reply.page)[0], None
