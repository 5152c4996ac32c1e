"""Local fake provider servers (Telegram Bot API, Twilio Messages) for tests and the simulator."""

from gateway.fakes.telegram_api import FakeTelegramAPI, SentTelegramMessage
from gateway.fakes.twilio_api import FakeTwilioAPI, SentTwilioMessage

__all__ = ["FakeTelegramAPI", "FakeTwilioAPI", "SentTelegramMessage", "SentTwilioMessage"]
