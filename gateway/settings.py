"""Configuration, read once from the environment into a frozen object.

A channel without credentials is simply off. Errors name the key that is wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from bot.vocabulary.wording import Wording
    from broadcasts.quiet_hours import QuietHours
    from storage.retention import Schedule

DEFAULT_DATABASE_PATH = Path("var") / "benkadi.db"
DEFAULT_MEDIA_DIR = Path("var") / "media"  # beside the default database: the data directory
TELEGRAM_DEFAULT_API = "https://api.telegram.org"
TWILIO_DEFAULT_API = "https://api.twilio.com"
TWILIO_DEFAULT_CONTENT_API = "https://content.twilio.com"  # WhatsApp templates (Content API)
MIN_SECRET_KEY = 32
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class SettingsError(ValueError):
    """A configuration value is missing or wrong; the message names the key."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    public_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_url: str = TELEGRAM_DEFAULT_API
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_url: str = TWILIO_DEFAULT_API
    twilio_content_url: str = TWILIO_DEFAULT_CONTENT_API
    simulator: bool = False  # no credentials at all: in-process fake providers stand in
    # The longest an idle dispatcher sleeps: a wake (a reply queued by this service) or the
    # next row coming due ends it sooner; rows queued by another process wait at most this.
    dispatch_interval: float = 5.0
    schedule_interval: float = 5.0  # how often scheduled broadcasts are looked for
    # Supervision: a channel that cannot start, a dispatcher that stops, are tried again after
    # a wait that doubles from restart_backoff up to restart_backoff_max (seconds).
    restart_backoff: float = 1.0
    restart_backoff_max: float = 60.0
    # A child dispatcher's heartbeat (seconds); silent for 6 of them, it is killed and restarted.
    heartbeat_seconds: float = 5.0
    # Slow clients (gateway/slow_clients.py): seconds a connection has to send its request
    # line and headers (also how long an idle keep-alive connection stays open), and its body.
    header_timeout: float = 20.0
    body_timeout: float = 30.0
    lease_seconds: float = 60.0  # a crashed sender's claimed rows come back after this long
    # How long a stop waits for batches in flight (a slow SIM's lasts a minute); what is still
    # waiting then is cut, and its rows come back when their lease ends.
    shutdown_grace: float = 10.0
    # Sending rates (messages per second): Telegram's bulk limit is about 30/s and 1/s per chat;
    # Twilio's depends on the sender (a long code about 1/s, a short code or service more).
    telegram_rate: float = 25.0
    telegram_chat_rate: float = 1.0
    sms_rate: float = 10.0
    whatsapp_rate: float = 10.0
    sms_price_per_segment: float = 0.05  # for the broadcast preview's cost estimate
    currency: str = "USD"
    migrate_on_start: bool = False  # `benkadi serve` sets it for the embedded SQLite default
    # Where the outbox is sent from: "inline" (this process), "process" (a child `benkadi
    # dispatch`, using a second core), or "off" (another process does it). `benkadi serve`
    # picks "process" on a machine with two cores or more.
    dispatch: str = "inline"
    # No SMS from campaign calendars in this daily window (Bamako time); "off" for none.
    sms_quiet_hours: str = "21:00-08:00"
    campaigns_dir: str | None = None  # campaign calendars; None: broadcasts/campaigns/data
    media_dir: str = str(DEFAULT_MEDIA_DIR)  # report photos downloaded from Telegram
    report_max_beneficiaries: int = 100_000  # a count above this is refused as a typo
    # Directory imports: who holds the data, as the invitation SMS says it (None: "the
    # coordination's secretariat", translated), and the days before the one reminder.
    data_holder: str | None = None
    invitation_reminder_days: int = 7
    media_interval: float = 1.0  # how often photos still to download are looked for
    # Signs the console's known-browser marks (sessions are in the database). None: generated
    # once and kept in the data directory (gateway.console.secret), for the embedded setup.
    secret_key: str | None = None
    # LIER sends a code by SMS to a number a Telegram user types: only to these countries
    # (calling codes), at most so many per hour per Telegram user, per number and in all.
    sms_countries: tuple[str, ...] = ("223",)
    # The reverse proxy in front (docs/deploy/Caddyfile): its X-Forwarded-For names the client,
    # so that sign-in limits count each client, not the proxy. Empty: the header is ignored.
    trusted_proxies: tuple[str, ...] = ()
    link_codes_per_user: int = 3
    link_codes_per_number: int = 3
    link_codes_per_hour: int = 30
    sms_replies_per_sender: int = 30  # replies to one SMS number per hour (a flood costs)
    # How long personal data is kept (storage.retention.parse_schedule); "": the defaults.
    retention: str = ""
    # A neutral bot name and labels for shared phones (bot/vocabulary/wording.py).
    discreet: bool = False
    bot_name: str | None = None
    # For the processing register (gateway/exports/register.py): who is responsible, and the
    # cloud the coordination's phones back up to, if any.
    controller: str | None = None
    phone_cloud: str | None = None

    @property
    def wording(self) -> Wording:
        from bot.vocabulary.wording import wording_for

        return wording_for(self.discreet, self.bot_name)

    @property
    def retention_schedule(self) -> Schedule:
        from storage.retention import parse_schedule

        return parse_schedule(self.retention)

    @property
    def quiet_hours(self) -> QuietHours | None:
        from broadcasts.quiet_hours import parse_quiet_hours

        return parse_quiet_hours(self.sms_quiet_hours)

    @property
    def campaigns_directory(self) -> Path:
        from broadcasts.campaigns.files import CAMPAIGNS_DIR

        return Path(self.campaigns_dir) if self.campaigns_dir else CAMPAIGNS_DIR

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def twilio_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def telegram_file_url(self) -> str:
        return self.telegram_api_url.rstrip("/") + "/file/bot"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Settings:
        env = os.environ if env is None else env

        def get(key: str) -> str | None:
            value = env.get(key, "").strip()
            return value or None

        port = _port(get("BENKADI_PORT") or "8080")
        host = get("BENKADI_HOST") or "127.0.0.1"
        public_url = get("BENKADI_PUBLIC_URL") or f"http://{host}:{port}"
        _require_url("BENKADI_PUBLIC_URL", public_url)
        database_url = get("BENKADI_DATABASE_URL") or f"sqlite:///{DEFAULT_DATABASE_PATH}"
        if not re.match(r"^(sqlite|postgres|postgresql)(\+\w+)?://", database_url):
            raise SettingsError("BENKADI_DATABASE_URL must be a sqlite:/// or postgresql:// URL")

        token, secret = get("TELEGRAM_BOT_TOKEN"), get("TELEGRAM_WEBHOOK_SECRET")
        if token and not re.match(r"^\d+:[\w-]+$", token):
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters)"
            )
        if token and not secret:
            raise SettingsError(
                "TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_BOT_TOKEN is set"
            )
        if secret and not _SECRET_TOKEN.match(secret):
            raise SettingsError("TELEGRAM_WEBHOOK_SECRET must be 1-256 of A-Z a-z 0-9 _ -")
        telegram_api = get("TELEGRAM_API_URL") or TELEGRAM_DEFAULT_API
        _require_url("TELEGRAM_API_URL", telegram_api)

        sid, auth = get("TWILIO_ACCOUNT_SID"), get("TWILIO_AUTH_TOKEN")
        sender, service = get("TWILIO_FROM"), get("TWILIO_MESSAGING_SERVICE_SID")
        if bool(sid) != bool(auth):
            missing = "TWILIO_AUTH_TOKEN" if sid else "TWILIO_ACCOUNT_SID"
            raise SettingsError(f"{missing} is required when the other Twilio credential is set")
        if sid and not sid.startswith("AC"):
            raise SettingsError("TWILIO_ACCOUNT_SID must start with AC")
        if sid and not (sender or service):
            raise SettingsError(
                "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID is required with Twilio credentials"
            )
        if service and not service.startswith("MG"):
            raise SettingsError("TWILIO_MESSAGING_SERVICE_SID must start with MG")
        twilio_api = get("TWILIO_API_URL") or TWILIO_DEFAULT_API
        _require_url("TWILIO_API_URL", twilio_api)
        content_api = get("TWILIO_CONTENT_URL") or TWILIO_DEFAULT_CONTENT_API
        _require_url("TWILIO_CONTENT_URL", content_api)

        values: dict[str, Any] = dict(
            database_url=database_url,
            public_url=public_url.rstrip("/"),
            host=host,
            port=port,
            telegram_bot_token=token,
            telegram_webhook_secret=secret,
            telegram_api_url=telegram_api.rstrip("/"),
            twilio_account_sid=sid,
            twilio_auth_token=auth,
            twilio_from=sender,
            twilio_messaging_service_sid=service,
            twilio_whatsapp_from=get("TWILIO_WHATSAPP_FROM"),
            twilio_api_url=twilio_api.rstrip("/"),
            twilio_content_url=content_api.rstrip("/"),
        )
        for key, field_name in (
            ("BENKADI_TELEGRAM_RATE", "telegram_rate"),
            ("BENKADI_TELEGRAM_CHAT_RATE", "telegram_chat_rate"),
            ("BENKADI_SMS_RATE", "sms_rate"),
            ("BENKADI_WHATSAPP_RATE", "whatsapp_rate"),
            ("BENKADI_SMS_PRICE_PER_SEGMENT", "sms_price_per_segment"),
            ("BENKADI_LEASE_SECONDS", "lease_seconds"),
            ("BENKADI_SHUTDOWN_GRACE", "shutdown_grace"),
            ("BENKADI_RESTART_BACKOFF", "restart_backoff"),
            ("BENKADI_RESTART_BACKOFF_MAX", "restart_backoff_max"),
            ("BENKADI_HEARTBEAT_SECONDS", "heartbeat_seconds"),
            ("BENKADI_HEADER_TIMEOUT", "header_timeout"),
            ("BENKADI_BODY_TIMEOUT", "body_timeout"),
        ):
            raw = get(key)
            if raw is not None:
                try:
                    number = float(raw)
                except ValueError:
                    raise SettingsError(f"{key} must be a number") from None
                if (number <= 0 and field_name != "sms_price_per_segment") or number < 0:
                    raise SettingsError(f"{key} must be positive")
                overrides.setdefault(field_name, number)
        if get("BENKADI_CURRENCY"):
            overrides.setdefault("currency", get("BENKADI_CURRENCY"))
        quiet = get("BENKADI_SMS_QUIET_HOURS")
        if quiet is not None:
            from broadcasts.quiet_hours import parse_quiet_hours

            try:
                parse_quiet_hours(quiet)
            except ValueError as error:
                raise SettingsError(f"BENKADI_SMS_QUIET_HOURS {error}") from None
            overrides.setdefault("sms_quiet_hours", quiet)
        secret_key = get("BENKADI_SECRET_KEY")
        if secret_key is not None:
            if len(secret_key) < MIN_SECRET_KEY or not secret_key.isprintable():
                raise SettingsError(
                    f"BENKADI_SECRET_KEY must be at least {MIN_SECRET_KEY} printable characters "
                    '(e.g. python3 -c "import secrets; print(secrets.token_urlsafe(32))")'
                )
            overrides.setdefault("secret_key", secret_key)
        discreet = get("BENKADI_DISCREET")
        if discreet is not None:
            if discreet.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise SettingsError("BENKADI_DISCREET must be on or off")
            overrides.setdefault("discreet", discreet.lower() in ("1", "true", "yes", "on"))
        bot_name = get("BENKADI_BOT_NAME")
        if bot_name is not None:
            if not re.fullmatch(r"[A-Za-z0-9 '-]{1,20}", bot_name):
                raise SettingsError("BENKADI_BOT_NAME must be 1-20 letters, digits, spaces, ' or -")
            overrides.setdefault("bot_name", bot_name)
        for key, field_name in (
            ("BENKADI_CONTROLLER", "controller"),
            ("BENKADI_PHONE_CLOUD", "phone_cloud"),
        ):
            if get(key) is not None:
                overrides.setdefault(field_name, get(key))
        retention = get("BENKADI_RETENTION")
        if retention is not None:
            from storage.retention import parse_schedule

            try:
                parse_schedule(retention)
            except ValueError as error:
                raise SettingsError(f"BENKADI_RETENTION {error}") from None
            overrides.setdefault("retention", retention)
        if get("BENKADI_CAMPAIGNS_DIR"):
            overrides.setdefault("campaigns_dir", get("BENKADI_CAMPAIGNS_DIR"))
        media_dir = get("BENKADI_MEDIA_DIR")
        if media_dir is not None:
            if Path(media_dir).exists() and not Path(media_dir).is_dir():
                raise SettingsError("BENKADI_MEDIA_DIR must be a directory, not a file")
            overrides.setdefault("media_dir", media_dir)
        maximum = get("BENKADI_REPORT_MAX_BENEFICIARIES")
        if maximum is not None:
            if not maximum.isdigit() or not 1 <= int(maximum) <= 10_000_000:
                raise SettingsError(
                    "BENKADI_REPORT_MAX_BENEFICIARIES must be a whole number, 1-10000000"
                )
            overrides.setdefault("report_max_beneficiaries", int(maximum))
        holder = get("BENKADI_DATA_HOLDER")
        if holder is not None and holder.strip():
            overrides.setdefault("data_holder", holder.strip())
        days = get("BENKADI_INVITATION_REMINDER_DAYS")
        if days is not None:
            if not days.isdigit() or not 1 <= int(days) <= 365:
                raise SettingsError(
                    "BENKADI_INVITATION_REMINDER_DAYS must be a whole number, 1-365"
                )
            overrides.setdefault("invitation_reminder_days", int(days))
        countries = get("BENKADI_SMS_COUNTRIES")
        if countries is not None:
            codes = tuple(code.strip().lstrip("+") for code in countries.split(",") if code.strip())
            if not codes or not all(code.isdigit() and 1 <= len(code) <= 3 for code in codes):
                raise SettingsError(
                    "BENKADI_SMS_COUNTRIES must be calling codes separated by commas (e.g. +223,+221)"
                )
            overrides.setdefault("sms_countries", codes)
        proxies = get("BENKADI_TRUSTED_PROXIES")
        if proxies is not None:
            overrides.setdefault("trusted_proxies", _networks("BENKADI_TRUSTED_PROXIES", proxies))
        for key, field_name in (
            ("BENKADI_LINK_CODES_PER_USER", "link_codes_per_user"),
            ("BENKADI_LINK_CODES_PER_NUMBER", "link_codes_per_number"),
            ("BENKADI_LINK_CODES_PER_HOUR", "link_codes_per_hour"),
            ("BENKADI_SMS_REPLIES_PER_SENDER", "sms_replies_per_sender"),
        ):
            raw = get(key)
            if raw is not None:
                if not raw.isdigit() or int(raw) > 1_000_000:
                    raise SettingsError(f"{key} must be a whole number, 0-1000000")
                overrides.setdefault(field_name, int(raw))
        dispatch = get("BENKADI_DISPATCH") or "inline"
        if dispatch not in ("inline", "process", "off", "auto"):
            raise SettingsError("BENKADI_DISPATCH must be auto, inline, process or off")
        if dispatch == "auto":
            dispatch = "process" if (os.cpu_count() or 1) > 1 else "inline"
        values["dispatch"] = dispatch
        values.update(overrides)
        return cls(**values)


ENV_KEYS = {
    "telegram_rate": "BENKADI_TELEGRAM_RATE",
    "telegram_chat_rate": "BENKADI_TELEGRAM_CHAT_RATE",
    "sms_rate": "BENKADI_SMS_RATE",
    "whatsapp_rate": "BENKADI_WHATSAPP_RATE",
    "sms_price_per_segment": "BENKADI_SMS_PRICE_PER_SEGMENT",
    "currency": "BENKADI_CURRENCY",
    "lease_seconds": "BENKADI_LEASE_SECONDS",
    "shutdown_grace": "BENKADI_SHUTDOWN_GRACE",
    "restart_backoff": "BENKADI_RESTART_BACKOFF",
    "restart_backoff_max": "BENKADI_RESTART_BACKOFF_MAX",
    "heartbeat_seconds": "BENKADI_HEARTBEAT_SECONDS",
    "header_timeout": "BENKADI_HEADER_TIMEOUT",
    "body_timeout": "BENKADI_BODY_TIMEOUT",
    "sms_quiet_hours": "BENKADI_SMS_QUIET_HOURS",
    "campaigns_dir": "BENKADI_CAMPAIGNS_DIR",
    "media_dir": "BENKADI_MEDIA_DIR",
    "report_max_beneficiaries": "BENKADI_REPORT_MAX_BENEFICIARIES",
    "data_holder": "BENKADI_DATA_HOLDER",
    "invitation_reminder_days": "BENKADI_INVITATION_REMINDER_DAYS",
    "secret_key": "BENKADI_SECRET_KEY",
    "retention": "BENKADI_RETENTION",
    "discreet": "BENKADI_DISCREET",
    "bot_name": "BENKADI_BOT_NAME",
    "controller": "BENKADI_CONTROLLER",
    "phone_cloud": "BENKADI_PHONE_CLOUD",
    "database_url": "BENKADI_DATABASE_URL",
    "public_url": "BENKADI_PUBLIC_URL",
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
    "telegram_webhook_secret": "TELEGRAM_WEBHOOK_SECRET",
    "telegram_api_url": "TELEGRAM_API_URL",
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_from": "TWILIO_FROM",
    "twilio_messaging_service_sid": "TWILIO_MESSAGING_SERVICE_SID",
    "twilio_whatsapp_from": "TWILIO_WHATSAPP_FROM",
    "twilio_api_url": "TWILIO_API_URL",
    "twilio_content_url": "TWILIO_CONTENT_URL",
}


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives another process these settings (e.g. a child dispatcher)."""
    env = {key: value for key, value in os.environ.items() if key not in ENV_KEYS.values()}
    for field, key in ENV_KEYS.items():
        value = getattr(settings, field)
        if value:
            env[key] = str(value)
    return env


def _networks(key: str, raw: str) -> tuple[str, ...]:
    import ipaddress

    entries = tuple(entry.strip() for entry in raw.split(",") if entry.strip())
    try:
        return tuple(str(ipaddress.ip_network(entry, strict=False)) for entry in entries)
    except ValueError:
        raise SettingsError(
            f"{key} must be addresses or networks separated by commas (e.g. 127.0.0.1,10.0.0.0/8)"
        ) from None


def _port(raw: str) -> int:
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise SettingsError("BENKADI_PORT must be a port number (0-65535)")
    return int(raw)


def _require_url(key: str, value: str) -> None:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(f"{key} must be an http(s) URL, got {value!r}")
