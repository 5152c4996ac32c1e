"""The aiohttp application: webhooks, health, simulator, and the dispatcher's lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import text

from bot.service import ConversationService
from bot.sms_limits import SmsLimits
from broadcasts.campaigns.runner import CampaignRunner
from gateway import api, console, health, simulator
from gateway.api.errors import error_middleware
from gateway.channels import telegram, twilio
from gateway.channels.base import Channel, Webhook, enabled
from gateway.inbound import android as android_webhooks
from gateway.inbound import media, webhooks
from gateway.keys import (
    CHANNELS,
    CLOCK,
    DATABASE,
    DISPATCHER,
    ERASURE_KEY,
    HEALTH,
    SERVICE,
    SETTINGS,
    WEBHOOKS,
)
from gateway.logs import quiet_bad_requests
from gateway.proxies import forwarded_middleware
from gateway.secret import erasure_key
from gateway.sending.dispatcher import Dispatcher
from gateway.sending.process import ChildDispatcher, NoDispatcher
from gateway.sending.routes import with_routes
from gateway.sending.scheduler import Scheduler
from gateway.sending.supervision import ChannelStarter, InlineHealth, backoff_of, supervised
from gateway.settings import Settings
from gateway.slow_clients import read_body_in_time
from storage.database import Database
from storage.migrate import upgrade
from storage.types import utcnow

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
    # SMS goes through the route layer: Android gateways' SIMs, then Twilio (sending/routes.py).
    channels = await with_routes(app[DATABASE], build_channels(settings), settings)
    app[CHANNELS] = channels
    app[WEBHOOKS] = build_webhooks(settings)
    app[ERASURE_KEY] = erasure_key(settings)
    app[SERVICE] = ConversationService(
        app[DATABASE],
        erasure_key=app[ERASURE_KEY],
        sms_available=lambda: "sms" in enabled(channels),  # a phone added later counts
        report_max_beneficiaries=settings.report_max_beneficiaries,
        limits=SmsLimits(
            countries=settings.sms_countries,
            link_per_user=settings.link_codes_per_user,
            link_per_number=settings.link_codes_per_number,
            link_per_hour=settings.link_codes_per_hour,
            replies_per_sender=settings.sms_replies_per_sender,
        ),
        wording=settings.wording,
        clock=app[CLOCK],
    )
    if settings.dispatch == "process":
        child = ChildDispatcher(settings)
        await child.start()
        app[DISPATCHER] = child
        app[HEALTH] = child
        yield
        await child.stop()
        return
    if settings.dispatch == "off":
        app[DISPATCHER] = app[HEALTH] = NoDispatcher()
        yield
        return
    async with supervised_dispatcher(
        app[DATABASE], channels, settings, clock=app[CLOCK]
    ) as running:
        app[DISPATCHER] = running.dispatcher
        app[HEALTH] = running
        yield


@contextlib.asynccontextmanager
async def supervised_dispatcher(
    database: Database,
    channels: dict[str, Channel],
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> AsyncIterator[InlineHealth]:
    starter = ChannelStarter(channels, backoff=lambda: backoff_of(settings))
    starter.start_all()
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
        available=starter.up,
        clock=clock,
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
        invitation_reminder=timedelta(days=settings.invitation_reminder_days),
        data_holder=settings.data_holder,
        erasure_key=erasure_key(settings),
        clock=clock,
    )
    # Each is restarted after an error, until it was asked to stop (by us, or by a test).
    tasks = [
        asyncio.create_task(
            supervised(
                "the dispatcher",
                dispatcher.run,
                lambda: dispatcher.stopped,
                backoff=backoff_of(settings),
            ),
            name="dispatcher",
        ),
        asyncio.create_task(
            supervised(
                "the scheduler",
                scheduler.run,
                lambda: scheduler.stopped,
                backoff=backoff_of(settings),
            ),
            name="scheduler",
        ),
    ]
    try:
        yield InlineHealth(dispatcher, starter, tasks)
    finally:
        dispatcher.stop()
        scheduler.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=settings.shutdown_grace)
        await starter.stop_all()


async def healthz(request: web.Request) -> web.Response:
    """Public: says the process answers and its database reads, nothing about what is configured."""
    async with request.app[DATABASE].sessions() as session:
        await session.execute(text("SELECT 1"))
    return web.json_response({"status": "ok"})


SERVER = "Benkadi"  # every answer's Server header: not the framework and its version


async def _neutral_server(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER


def _neutral_server_before_the_app() -> None:
    """A request aiohttp cannot parse is answered before any application sees it, with the
    module's default header: the one lever for those is that default."""
    from aiohttp import web_response

    if hasattr(web_response, "SERVER_SOFTWARE"):
        web_response.SERVER_SOFTWARE = SERVER


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> web.Application:
    """The app; `clock` is the time its dialogues, dispatcher (inline) and scheduler live by
    (tests give one that jumps to a poll's dates; a child dispatcher keeps its own)."""
    quiet_bad_requests()
    _neutral_server_before_the_app()
    forwarded = forwarded_middleware(settings.trusted_proxies)
    middlewares = [error_middleware, *([forwarded] if forwarded else []), read_body_in_time]
    app = web.Application(middlewares=middlewares, client_max_size=1024**2)
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app.on_response_prepare.append(_neutral_server)
    if settings.simulator:
        app.cleanup_ctx.append(simulator.providers)  # replaces SETTINGS before channels start
    app.cleanup_ctx.append(_storage)
    if settings.simulator:
        app.cleanup_ctx.append(simulator.android_gateway)  # its fake phone, in the database
    app.cleanup_ctx.append(_sending)
    app.cleanup_ctx.append(media.fetching)
    app.router.add_get("/healthz", healthz)
    health.add_routes(app)
    webhooks.add_routes(app, WEBHOOK_PATHS)
    android_webhooks.add_routes(app)  # /webhooks/android/{gateway}: one per phone
    api.add_routes(app)
    console.add_routes(app)
    if settings.simulator:
        simulator.add_routes(app)
    return app
