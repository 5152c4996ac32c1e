"""The pure rules: what goes out for a row inside and outside WhatsApp's window, what Twilio's
and Telegram's refusals mean for a fallback, and the draft's WhatsApp plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from twilio.base.exceptions import TwilioRestException

from broadcasts.model import DraftError, parse_draft
from gateway.channels import twilio
from gateway.channels.base import SendError
from gateway.sending import policy
from gateway.sending.policy import Failed, Skipped
from storage.outbox.claims import AddressSnapshot, Claimed
from storage.outbox.states import AddressState, OutboxStatus, Priority

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def row(channel="whatsapp", priority=Priority.BULK, content_sid=None, broadcast_id=4):
    return Claimed(
        id=1, channel=channel, recipient="+22376000001", body="Alerte", choices=None, attempts=0,
        address_id=3, priority=int(priority), broadcast_id=broadcast_id, member_id=9,
        content_sid=content_sid, content_variables={"1": "Alerte"} if content_sid else None,
    )  # fmt: skip


def wrote(hours_ago: float | None) -> AddressSnapshot:
    at = None if hours_ago is None else NOW - timedelta(hours=hours_ago)
    return AddressSnapshot(last_inbound_at=at)


@pytest.mark.parametrize(
    ("claimed", "address", "expected"),
    [
        (row(), wrote(23.9), "text"),  # inside the window: free text
        (row(content_sid="HX1"), wrote(1), "text"),  # inside, even with a template
        (row(content_sid="HX1"), wrote(24), "template"),  # outside: the template
        (row(content_sid="HX1"), wrote(None), "template"),  # never wrote
        (row(), wrote(30), "refused"),  # outside, no template: nothing goes
        (row(priority=Priority.REPLY), wrote(30), "text"),  # a reply: they just wrote
        (row(channel="sms"), wrote(None), "text"),  # SMS has no window
        (row(channel="telegram"), None, "text"),
    ],
)
def test_what_goes_out_inside_and_outside_the_window(claimed, address, expected):
    out = policy.outgoing(claimed, address, NOW)
    if expected == "refused":
        assert out is policy.OUTSIDE_WINDOW and out.fall_back and not out.retryable
    elif expected == "template":
        assert (out.content_sid, out.content_variables) == ("HX1", {"1": "Alerte"})
    else:
        assert out.content_sid is None and out.body == "Alerte"


BLOCKED = SendError("403", "Forbidden: bot was blocked by the user", retryable=False,
                    address_state=AddressState.BLOCKED)  # fmt: skip
NOT_FOUND = SendError("400", "chat not found", retryable=False, address_state=AddressState.INVALID)
OPTED_OUT = SendError("21610", "unsubscribed", retryable=False,
                      address_state=AddressState.OPTED_OUT)  # fmt: skip
OUTSIDE = SendError("63016", "outside the window", retryable=False, fall_back=True)
SERVER = SendError("20500", "server error", retryable=True)


@pytest.mark.parametrize(
    ("verdict", "falls_back"),
    [
        (Failed(row("telegram"), 1, BLOCKED), True),
        (Failed(row("telegram"), 1, NOT_FOUND), True),
        (Failed(row(), 1, OUTSIDE), True),
        (Failed(row(), 1, policy.OUTSIDE_WINDOW), True),
        (Failed(row(), 1, OPTED_OUT), False),  # the member's no: never elsewhere
        (Failed(row(), 5, SERVER), False),  # retried out: the provider, not the channel
        (Failed(row(priority=Priority.REPLY), 1, BLOCKED), False),  # replies stay
        (Failed(row(broadcast_id=None), 1, BLOCKED), False),
        (Skipped(row("telegram"), "blocked"), True),  # marked blocked since the fan-out
        (Skipped(row(), "opted_out"), False),
    ],
)
def test_which_failures_fall_back(verdict, falls_back):
    assert (policy.fall_back_reason(verdict) is not None) is falls_back


@pytest.mark.parametrize(
    ("code", "state", "falls_back"),
    [
        (63016, None, True),
        (63024, AddressState.INVALID, True),
        (63003, AddressState.INVALID, True),
        (21211, AddressState.INVALID, False),  # the flag; the address state falls back too
        (21610, AddressState.OPTED_OUT, False),
    ],
)
def test_twilio_codes(code, state, falls_back):
    error = twilio.classify(TwilioRestException(400, "https://x", "msg", code=code))
    assert (error.retryable, error.address_state, error.fall_back) == (False, state, falls_back)
    report = twilio.parse_status(
        {"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": str(code)}, {"id": "5"}
    )
    assert report is not None and report.status == OutboxStatus.FAILED
    assert (report.address_state, report.fall_back) == (state, falls_back)


def test_draft_names_templates_per_language_and_maps_variables():
    draft = parse_draft(
        {
            "texts": {"fr": "Alerte", "bm": "Kunnafoni"},
            "title": "JIF",
            "whatsapp": {
                "templates": {"fr": "benkadi_alerte", "bm": "benkadi_alerte"},
                "variables": {"1": "title", "2": "text", "3": "Benkadi"},
                "outside_window": "next_channel",
            },
            "fallback": False,
        },
        NOW,
        None,
    )
    assert draft.template_variables("bm") == {"1": "JIF", "2": "Kunnafoni", "3": "Benkadi"}
    assert draft.template_variables("ses") == {"1": "JIF", "2": "Alerte", "3": "Benkadi"}
    assert (draft.outside_window, draft.fallback) == ("next_channel", False)


@pytest.mark.parametrize(
    ("whatsapp", "field"),
    [
        ({"templates": {"xx": "t"}}, "whatsapp.templates.xx"),
        ({"templates": {"fr": ""}}, "whatsapp.templates.fr"),
        ({"variables": {"1": ""}}, "whatsapp.variables"),
        ({"outside_window": "sms"}, "whatsapp.outside_window"),
        ({"template": {}}, "whatsapp"),
        ("benkadi_alerte", "whatsapp"),
    ],
)
def test_a_bad_plan_names_its_field(whatsapp, field):
    with pytest.raises(DraftError) as caught:
        parse_draft({"texts": {"fr": "x"}, "whatsapp": whatsapp}, NOW, None)
    assert caught.value.field == field


def test_status_and_preview_text_say_the_window_and_the_fallbacks():
    from gateway.cli.broadcast_text import status_text, whatsapp_text

    status = {
        "id": 3, "status": "sent", "recipients": 2, "fallback": True,
        "fallbacks": {"total": 1, "by_reason": [
            {"from": "telegram", "to": "sms", "reason": "telegram 403: blocked", "count": 1},
        ]},
    }  # fmt: skip
    assert "  fell back telegram → sms ×1: telegram 403: blocked" in status_text(status)
    assert "  fallback to the next channel: off" in status_text({**status, "fallback": False})
    window = {
        "inside_window": 1, "outside_window": 2, "falls_back": {"sms": 1},
        "by_language": {
            "fr": {"inside_window": 1, "outside_window": 1,
                   "template": {"name": "benkadi_alerte", "sid": "HX1", "variables": {}}},
            "bm": {"inside_window": 0, "outside_window": 1, "template": None},
        },
        "fallback_sms": {"members": 1, "segments": 1, "estimated_cost": 0.05},
        "refused": None,
    }  # fmt: skip
    lines = whatsapp_text(window)
    assert lines[0] == "WhatsApp: 1 member inside the 24 h window (text), 2 members outside it"
    assert "  fr: 1 member outside, template benkadi_alerte" in lines
    assert "  bm: 1 member outside, no approved template" in lines
    assert "  without a template, to sms: 1 member" in lines


def test_template_values_on_one_line_and_within_whatsapp_limits():
    from broadcasts.model import Draft, WhatsAppPlan, template_problem, template_value

    assert template_value("Réunion\nmardi\t à   10 h ") == "Réunion mardi à 10 h"
    draft = Draft(
        texts={"fr": "Ligne 1\n\nLigne 2", "bm": "x" * 300},
        title="JIF",
        whatsapp=WhatsAppPlan({"fr": "t"}, {"1": "text", "2": "title"}),
    )
    assert draft.template_variables("fr") == {"1": "Ligne 1 Ligne 2", "2": "JIF"}
    assert template_problem("{{1}}", draft.template_variables("fr")) is None
    assert "255" in template_problem("{{1}}", draft.template_variables("bm"))
    assert "1024" in template_problem("x" * 1000 + "{{2}}{{1}}", {"1": "y" * 30, "2": "JIF"})


@pytest.mark.parametrize("code", [63013, 63021])
def test_template_refusals_fall_back(code):
    error = twilio.classify(TwilioRestException(400, "https://x", "msg", code=code))
    assert error.fall_back and not error.retryable and error.address_state is None
