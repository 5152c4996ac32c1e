"""What each channel can do, as data: the dialogues and the adapters read this table instead of
asking "is this Telegram?". A new channel is a new row here, not a new branch in every flow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Style = Literal["sms", "buttons"]  # how choices are shown: a numbered list, or buttons
# What an attached photo is: a Telegram file_id, or Twilio's MediaUrl (WhatsApp/MMS); both are
# fetched, cleaned and kept in the media folder, and Twilio's copy is then deleted there.
MediaKind = Literal["telegram", "twilio"]


@dataclass(frozen=True)
class ChannelTraits:
    buttons: bool  # choices as buttons (callback data comes back), else a numbered list
    billed_by_segment: bool  # SMS: lists paged to fit one segment, the cheapest encoding chosen
    phone_number: bool  # an address is a phone number (not a chat id)
    asks_for_photo: bool  # a report asks for its photo here (elsewhere a photo is only taken)
    media_kind: MediaKind  # what an attached photo is
    starts_link: bool  # LIER starts here: the member proves a phone number by an SMS code
    callback_data_max_bytes: int | None = None  # the provider's limit on a button's data
    # Free text only this long after the member's last message; after it, only a template the
    # provider approved (WhatsApp's 24 h "customer service window"). None: no such rule.
    free_text_hours: int | None = None

    @property
    def style(self) -> Style:
        return "buttons" if self.buttons else "sms"


SMS = ChannelTraits(
    buttons=False,
    billed_by_segment=True,
    phone_number=True,
    asks_for_photo=False,
    media_kind="twilio",
    starts_link=False,
)
WHATSAPP = ChannelTraits(
    buttons=False,
    billed_by_segment=False,  # billed per conversation: no paging, letters as written
    phone_number=True,
    asks_for_photo=False,
    media_kind="twilio",
    starts_link=False,
    free_text_hours=24,
)
TELEGRAM = ChannelTraits(
    buttons=True,
    billed_by_segment=False,
    phone_number=False,
    asks_for_photo=True,
    media_kind="telegram",
    starts_link=True,
    callback_data_max_bytes=64,
)

CHANNEL_TRAITS: dict[str, ChannelTraits] = {"sms": SMS, "whatsapp": WHATSAPP, "telegram": TELEGRAM}
CHANNELS = tuple(CHANNEL_TRAITS)  # every channel a member can be reached on
PHONE_CHANNELS = tuple(name for name, kind in CHANNEL_TRAITS.items() if kind.phone_number)
# A broadcast takes one address per member, the first usable in this order: Telegram and WhatsApp
# cost the coordination nothing per message, SMS is billed by the segment.
PREFERENCE = ("telegram", "whatsapp", "sms")


def traits(channel: str) -> ChannelTraits:
    """A channel's traits; one not in the table is treated as plain SMS, the most limited."""
    return CHANNEL_TRAITS.get(channel, SMS)
