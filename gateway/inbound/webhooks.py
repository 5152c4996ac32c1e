"""Inbound webhooks: Twilio messages and status callbacks, Telegram updates.

Each checks its signature or secret before anything else, so a forged request stores nothing.
A malformed request is a 4xx; a database failure is a 5xx, so the provider delivers it again.
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web
from sqlalchemy import update

from gateway.channels import telegram, twilio
from gateway.inbound import media
from gateway.keys import DATABASE, DISPATCHER, SERVICE, SETTINGS
from storage import members as member_store
from storage import messages as message_store
from storage.models import OutboxMessage
from storage.types import utcnow

log = logging.getLogger(__name__)
outbox = OutboxMessage.__table__
FORM = "application/x-www-form-urlencoded"

# Later statuses never give way to earlier ones arriving late.
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "undelivered": 2, "failed": 2}


async def _signed_twilio_form(request: web.Request):
    settings = request.app[SETTINGS]
    if not settings.twilio_enabled:
        raise web.HTTPNotFound(text="Twilio is not configured")
    if request.content_type != FORM:
        # Not signed over form parameters: cannot be genuine. Still checked before reading.
        raise web.HTTPBadRequest(text="expected application/x-www-form-urlencoded")
    params = await request.post()
    url = settings.public_url + request.path_qs
    try:
        twilio.verify_signature(
            settings.twilio_auth_token, url, params, request.headers.get("X-Twilio-Signature")
        )
    except twilio.SignatureError:
        raise web.HTTPForbidden(text="invalid signature") from None
    return params


async def twilio_message(request: web.Request) -> web.Response:
    params = await _signed_twilio_form(request)
    try:
        received = twilio.parse_inbound(params)
    except (KeyError, ValueError) as error:
        raise web.HTTPBadRequest(text=f"malformed Twilio message: {error}") from None
    await request.app[SERVICE].handle(received)
    request.app[DISPATCHER].wake()
    return web.Response(text=twilio.EMPTY_TWIML, content_type="text/xml")


STATUS_WAITS = (0.1, 0.2, 0.4, 0.8, 1.5, 0)  # about 3 s in all, then it is not ours


async def twilio_status(request: web.Request) -> web.Response:
    params = await _signed_twilio_form(request)
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if not sid or not status:
        raise web.HTTPBadRequest(text="MessageSid and MessageStatus are required")
    new_status = twilio.FINAL_STATUS.get(status)
    if new_status is None:  # queued, sending, accepted…: nothing to record
        return web.Response(status=204)
    error_code = params.get("ErrorCode") or None
    # A callback can overtake the recording of the send it is about (the dispatcher records a
    # long batch once a second): rather than drop it, look again a few times. Twilio waits 15 s.
    for wait in STATUS_WAITS:
        async with request.app[DATABASE].transaction() as connection:
            row = await message_store.outbox_by_provider_id(connection, sid)
            if row is not None:
                await _record_status(connection, row, new_status, status, error_code)
                return web.Response(status=204)
        await asyncio.sleep(wait)
    return web.Response(status=204)  # not ours, or erased: nothing to keep


async def _record_status(
    connection, row, new_status: str, status: str, error_code: str | None
) -> None:
    now = utcnow()
    if STATUS_RANK[new_status] >= STATUS_RANK.get(row.status, 0):
        values = {"status": new_status, "updated_at": now}
        if error_code:
            values |= {"error_code": error_code, "error_message": f"Twilio {status}"}
        await connection.execute(update(outbox).where(outbox.c.id == row.id).values(values))
    if error_code and error_code.isdigit() and row.address_id is not None:
        state = twilio.ADDRESS_STATE_BY_CODE.get(int(error_code))
        if state:
            column = {"opted_out": "opted_out_at", "invalid": "invalid_at"}[state]
            await member_store.update_address(connection, row.address_id, **{column: now})


async def telegram_update(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if not settings.telegram_enabled:
        raise web.HTTPNotFound(text="Telegram is not configured")
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
    if not telegram.secret_matches(settings.telegram_webhook_secret, given):
        raise web.HTTPForbidden(text="invalid secret token")
    try:
        data = json.loads(await request.read())
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("an update is a JSON object with an integer update_id")
        update_, meaning = telegram.parse_update(data)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise web.HTTPBadRequest(text=f"malformed update: {error}") from None
    if meaning is None:
        return web.Response(status=200)  # stickers, edits, channel posts…: not for us
    service = request.app[SERVICE]
    if isinstance(meaning, telegram.ChatMemberChange):
        await service.set_blocked("telegram", meaning.chat_id, meaning.blocked)
        return web.Response(status=200)
    handled = await service.handle(meaning)
    request.app[DISPATCHER].wake()
    if meaning.inbound.media:
        media.wake(request.app)  # a report with a photo may just have been confirmed
    query = update_.callback_query
    if query is not None:
        # Answer the button press in the webhook response itself: no extra API call.
        answer = {"method": "answerCallbackQuery", "callback_query_id": query.id}
        if handled.notice:
            answer["text"] = handled.notice
        return web.json_response(answer)
    return web.Response(status=200)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/webhooks/twilio/sms", twilio_message)
    app.router.add_post("/webhooks/twilio/status", twilio_status)
    app.router.add_post("/webhooks/telegram", telegram_update)
