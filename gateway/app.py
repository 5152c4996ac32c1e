"""The aiohttp application: webhooks, health, simulator, and the dispatcher's lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web
from sqlalchemy import text

from bot.service import ConversationService
from broadcasts.campaigns.runner import CampaignRunner
from gateway import api, console, simulator
from gateway.api.errors import error_middleware
from gateway.channels import telegram, twilio
from gateway.channels.base import Channel, Webhook
from gateway.inbound import media, webhooks
from gateway.keys import CHANNELS, DATABASE, DISPATCHER, SERVICE, SETTINGS, WEBHOOKS
from gateway.sending.dispatcher import Dispatcher
from gateway.sending.process import ChildDispatcher, NoDispatcher
from gateway.sending.scheduler import Scheduler
from gateway.settings import Settings
from storage.database import Database
from storage.migrate import upgrade

log = logging.getLogger(__name__)


# The public webhook paths, whether their provider is configured or not (404 when it is not).
WEBHOOK_PATHS = {
    twilio.MESSAGES_PATH: "Twilio",
    twilio.STATUS_PATH: "Twilio",
    telegram.WEBHOOK_PATH: "Telegram",
}


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The sending side of every configured provider, by channel name."""
    channels: dict[str, Channel] = {}
    if settings.telegram_bot_token:  # telegram_enabled, spelt out for the type checker
        channels["telegram"] = telegram.TelegramChannel(
            settings.telegram_bot_token, settings.telegram_api_url, settings.telegram_file_url
        )
    if settings.twilio_account_sid and settings.twilio_auth_token:  # twilio_enabled
        for name, from_ in (
            ("sms", settings.twilio_from),
            ("whatsapp", settings.twilio_whatsapp_from or settings.twilio_from),
        ):
            channels[name] = twilio.TwilioChannel(
                name,
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token,
                api_url=settings.twilio_api_url,
                status_callback=settings.public_url + twilio.STATUS_PATH,
                from_=from_,
                messaging_service_sid=settings.twilio_messaging_service_sid,
            )
    return channels


def build_webhooks(settings: Settings) -> dict[str, Webhook]:
    """The receiving side of every configured provider, by public path."""
    hooks: list[Webhook] = []
    if settings.telegram_bot_token and settings.telegram_webhook_secret:
        hooks.append(telegram.UpdatesWebhook(settings.telegram_webhook_secret))
    if settings.twilio_account_sid and settings.twilio_auth_token:
        token = settings.twilio_auth_token
        hooks += [twilio.MessagesWebhook(token), twilio.StatusWebhook(token)]
    return {hook.path: hook for hook in hooks}


async def _storage(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    database = Database(settings.database_url)
    if settings.migrate_on_start:
        await upgrade(database.engine)
    app[DATABASE] = database
    yield
    await database.dispose()


async def _sending(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    channels = build_channels(settings)
    app[CHANNELS] = channels
    app[WEBHOOKS] = build_webhooks(settings)
    app[SERVICE] = ConversationService(
        app[DATABASE],
        sms_available="sms" in channels,
        report_max_beneficiaries=settings.report_max_beneficiaries,
        wording=settings.wording,
    )
    if settings.dispatch == "process":
        child = ChildDispatcher(settings)
        await child.start()
        app[DISPATCHER] = child
        yield
        await child.stop()
        return
    if settings.dispatch == "off":
        app[DISPATCHER] = NoDispatcher()
        yield
        return
    async with running_dispatcher(app[DATABASE], channels, settings) as dispatcher:
        app[DISPATCHER] = dispatcher
        yield


@contextlib.asynccontextmanager
async def running_dispatcher(database: Database, channels: dict[str, Channel], settings: Settings):
    """Channels started, the dispatcher running; both stopped cleanly on the way out."""
    for channel in channels.values():
        await channel.start()
    dispatcher = Dispatcher(
        database,
        channels,
        rates={
            "telegram": settings.telegram_rate,
            "sms": settings.sms_rate,
            "whatsapp": settings.whatsapp_rate,
        },
        per_chat_rates={"telegram": settings.telegram_chat_rate},
        idle_interval=settings.dispatch_interval,
        lease=timedelta(seconds=settings.lease_seconds),
        sms_quiet_hours=settings.quiet_hours,
    )
    campaigns = CampaignRunner(
        database, settings.campaigns_directory, quiet_hours=settings.quiet_hours
    )
    scheduler = Scheduler(
        database,
        channels,
        dispatcher.wake,
        interval=settings.schedule_interval,
        campaigns=campaigns,
        retention_schedule=settings.retention_schedule,
        media_dir=settings.media_dir,
    )
    tasks = [
        asyncio.create_task(dispatcher.run(), name="dispatcher"),
        asyncio.create_task(scheduler.run(), name="scheduler"),
    ]
    try:
        yield dispatcher
    finally:
        dispatcher.stop()
        scheduler.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
        for channel in channels.values():
            await channel.stop()


async def healthz(request: web.Request) -> web.Response:
    async with request.app[DATABASE].sessions() as session:
        await session.execute(text("SELECT 1"))
    channels = request.app[CHANNELS]
    return web.json_response({"status": "ok", "channels": sorted(channels)})


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=1024**2)
    app[SETTINGS] = settings
    if settings.simulator:
        app.cleanup_ctx.append(simulator.providers)  # replaces SETTINGS before channels start
    app.cleanup_ctx.append(_storage)
    app.cleanup_ctx.append(_sending)
    app.cleanup_ctx.append(media.fetching)
    app.router.add_get("/healthz", healthz)
    webhooks.add_routes(app, WEBHOOK_PATHS)
    api.add_routes(app)
    console.add_routes(app)
    if settings.simulator:
        simulator.add_routes(app)
    return app
