"""Local fake provider servers (Telegram Bot API, Twilio Messages, SMS Gateway for Android) for tests and the simulator."""

from gateway.fakes.android_api import FakeAndroidGateway
from gateway.fakes.telegram_api import FakeTelegramAPI, SentTelegramMessage
from gateway.fakes.twilio_api import FakeTwilioAPI, SentTwilioMessage

__all__ = [
    "FakeAndroidGateway",
    "FakeTelegramAPI",
    "FakeTwilioAPI",
    "SentTelegramMessage",
    "SentTwilioMessage",
]
