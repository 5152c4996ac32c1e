import pytest

from gateway.settings import Settings, SettingsError

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)


def test_defaults_need_no_credentials():
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///var/benkadi.db"
    assert settings.public_url == "http://127.0.0.1:8080"
    assert not settings.telegram_enabled and not settings.twilio_enabled


def test_full_configuration():
    settings = Settings.from_env(
        {
            "BENKADI_PUBLIC_URL": "https://benkadi.example.org/",
            "TELEGRAM_BOT_TOKEN": "123:abc-DEF",
            "TELEGRAM_WEBHOOK_SECRET": "s3cret_token",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "x" * 32,
            "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0" * 32,
        }
    )
    assert settings.public_url == "https://benkadi.example.org"
    assert settings.telegram_enabled and settings.twilio_enabled


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"BENKADI_PUBLIC_URL": "benkadi.org"}, "BENKADI_PUBLIC_URL"),
        ({"BENKADI_DATABASE_URL": "mysql://x"}, "BENKADI_DATABASE_URL"),
        ({"BENKADI_PORT": "eighty"}, "BENKADI_PORT"),
        ({"TELEGRAM_BOT_TOKEN": "nope"}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "123:abc"}, "TELEGRAM_WEBHOOK_SECRET"),
        (
            {"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_WEBHOOK_SECRET": "has space"},
            "TELEGRAM_WEBHOOK_SECRET",
        ),
        ({"TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL"),
        ({"TWILIO_ACCOUNT_SID": "AC1"}, "TWILIO_AUTH_TOKEN"),
        ({"TWILIO_AUTH_TOKEN": "x"}, "TWILIO_ACCOUNT_SID"),
        (
            {"TWILIO_ACCOUNT_SID": "XX1", "TWILIO_AUTH_TOKEN": "x", "TWILIO_FROM": "+1"},
            "TWILIO_ACCOUNT_SID",
        ),
        ({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "x"}, "TWILIO_FROM"),
        (
            {
                "TWILIO_ACCOUNT_SID": "AC1",
                "TWILIO_AUTH_TOKEN": "x",
                "TWILIO_MESSAGING_SERVICE_SID": "XY",
            },
            "TWILIO_MESSAGING_SERVICE_SID",
        ),
        ({"TWILIO_API_URL": "nope"}, "TWILIO_API_URL"),
    ],
)
def test_errors_name_the_key(env, key):
    with pytest.raises(SettingsError, match=key):
        Settings.from_env(env)


def test_link_code_countries_and_limits():
    settings = Settings.from_env({})
    assert settings.sms_countries == ("223",) and settings.link_codes_per_user == 3
    settings = Settings.from_env(
        {"BENKADI_SMS_COUNTRIES": "+223, 221", "BENKADI_LINK_CODES_PER_HOUR": "0"}
    )
    assert settings.sms_countries == ("223", "221") and settings.link_codes_per_hour == 0
    for bad in ("Mali", "+22333", ","):
        with pytest.raises(SettingsError, match="BENKADI_SMS_COUNTRIES"):
            Settings.from_env({"BENKADI_SMS_COUNTRIES": bad})
    with pytest.raises(SettingsError, match="BENKADI_SMS_REPLIES_PER_SENDER"):
        Settings.from_env({"BENKADI_SMS_REPLIES_PER_SENDER": "-1"})
