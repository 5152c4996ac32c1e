"""What `benkadi broadcasts …` prints: a broadcast's status and a draft's preview, as text
(--json prints the service's answers as they are)."""

from __future__ import annotations

from typing import Any

from gateway.cli.common import counted, when
from gateway.cli.tables import Column

LIST_COLUMNS = (
    Column("id", 4, right=True),
    Column("status", 10),
    Column("recipients", 6, right=True),
    Column("title", 24),
    Column("send at", 20),
    Column("outcomes"),
)


def list_row(row: dict[str, Any]) -> tuple[object, ...]:
    totals = ", ".join(f"{k} {v}" for k, v in sorted((row.get("totals") or {}).items()))
    return (
        row["id"],
        row["status"],
        row.get("recipients", 0),
        row.get("title") or "(untitled)",
        when(row["send_at"]) if row.get("send_at") else "",
        totals,
    )


def status_text(status: dict[str, Any]) -> list[str]:
    title = f" «{status['title']}»" if status.get("title") else ""
    lines = [f"Broadcast {status['id']}{title}: {status['status']}"]
    history = [f"created {when(status.get('created_at'))} by {status.get('created_by')}"]
    for key, label in (
        ("send_at", "to send at"),
        ("fanned_out_at", "queued"),
        ("finished_at", "finished"),
        ("cancelled_at", "cancelled"),
    ):
        if status.get(key):
            history.append(f"{label} {when(status[key])}")
    lines.append("  " + "; ".join(history))
    filters = [
        f"{key.replace('_', ' ')} {', '.join(value) if isinstance(value, list) else value}"
        for key, value in (status.get("audience") or {}).items()
        if value
    ]
    lines.append(f"  audience: {'; '.join(filters) or 'every member'}")
    for language, text in (status.get("texts") or {}).items():
        lines.append(f"  text {language}: {text}")
    lines.append(f"  recipients: {status.get('recipients', 0)}")
    for channel, by_status in sorted((status.get("counts") or {}).items()):
        counts = ", ".join(f"{key} {value}" for key, value in sorted(by_status.items()))
        lines.append(f"  {channel:<9} {counts}")
    for failure in status.get("failures") or []:
        lines.append(
            f"  failed on {failure['channel']} ×{failure['count']}: "
            f"{failure.get('code') or ''} {failure.get('message') or ''}".rstrip()
        )
    fallbacks = status.get("fallbacks") or {}
    for moved in fallbacks.get("by_reason") or []:
        lines.append(
            f"  fell back {moved['from']} → {moved['to']} ×{moved['count']}: "
            f"{moved.get('reason') or ''}".rstrip()
        )
    if status.get("fallback") is False:
        lines.append("  fallback to the next channel: off")
    if "queued" in status:
        lines.append(
            counted(status["queued"], "{n} message queued now.", "{n} messages queued now.")
        )
    if "cancelled" in status and isinstance(status["cancelled"], int):
        lines.append(
            counted(
                status["cancelled"],
                "{n} queued message cancelled.",
                "{n} queued messages cancelled.",
            )
        )
    if status.get("note"):
        lines.append(f"Note: {status['note']}")
    return lines


def members(n: int) -> str:
    return counted(n, "{n} member", "{n} members")


def _join(counts: dict[str, int]) -> str:
    return ", ".join(f"{key.replace('_', ' ')} {n}" for key, n in counts.items() if n) or "none"


def preview_text(result: dict[str, Any]) -> list[str]:
    """The preview in a few lines; --json has every detail."""
    reached, excluded, sms = result["reached"], result["excluded"], result["sms"]
    lines = [
        f"Reached: {members(result['recipients'])} ({_join(reached['by_channel'])})",
        f"  by language: {_join(reached['by_language'])}",
        f"Left out: {excluded['total']} ({_join(excluded['by_reason'])})",
    ]
    for language, text in result["texts"].items():
        source = (
            "" if text["text_language"] == language else f", gets the {text['text_language']} text"
        )
        lines.append(f"Text {language}: {members(text['members'])}{source}")
        for channel, info in text["channels"].items():
            if channel != "sms":
                lines.append(f"  {channel}: {members(info['members'])}")
                continue
            sent = info[info["sent"]]
            spelling = "GSM-friendly spelling" if info["sent"] == "gsm_friendly" else "as written"
            lines.append(
                f"  sms: {members(info['members'])}, {sent['encoding']}, "
                f"{counted(sent['characters'], '{n} character', '{n} characters')}, "
                f"{counted(info['segments'], '{n} segment', '{n} segments')} each, {spelling}"
            )
            if info["sent"] == "gsm_friendly":
                lines.append(f"    {sent['text']}")
    lines.append(
        f"SMS cost: {counted(sms['segments'], '{n} segment', '{n} segments')}"
        f" × {sms['price_per_segment']} {sms['currency']}"
        f" ≈ {sms['estimated_cost']:.2f} {sms['currency']}"
    )
    routed = sms.get("by_route")  # Android gateways: the SMS per route (SIM, Twilio)
    if routed:
        phones = counted(routed["phones_up"], "{n} phone", "{n} phones")
        lines.append(
            f"SMS by route: {routed['duration']} on {phones}, "
            f"≈ {routed['cost']:.2f} {sms['currency']}"
        )
        for route in routed["routes"]:
            lines.append(
                f"  {route['route']}: {members(route['members'])}, "
                f"{counted(route['segments'], '{n} segment', '{n} segments')}, "
                f"≈ {route['cost']:.2f} {sms['currency']}, {route['duration']}"
            )
    return lines
