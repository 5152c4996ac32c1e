"""BENKADI_MEDIA_DIR and BENKADI_REPORT_MAX_BENEFICIARIES: read, checked, named when wrong."""

from __future__ import annotations

import pytest

from gateway.settings import DEFAULT_MEDIA_DIR, Settings, SettingsError, settings_env

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)


def test_defaults_and_values(tmp_path):
    settings = Settings.from_env({})
    assert (
        settings.media_dir == str(DEFAULT_MEDIA_DIR)
        and settings.report_max_beneficiaries == 100_000
    )
    settings = Settings.from_env(
        {"BENKADI_MEDIA_DIR": str(tmp_path / "photos"), "BENKADI_REPORT_MAX_BENEFICIARIES": "5000"}
    )
    assert settings.media_dir == str(tmp_path / "photos")
    assert settings.report_max_beneficiaries == 5000
    env = settings_env(settings)
    assert env["BENKADI_REPORT_MAX_BENEFICIARIES"] == "5000"


@pytest.mark.parametrize("raw", ["0", "-5", "many", "1.5", "99999999"])
def test_bad_maximum_is_named(raw):
    with pytest.raises(SettingsError, match="BENKADI_REPORT_MAX_BENEFICIARIES"):
        Settings.from_env({"BENKADI_REPORT_MAX_BENEFICIARIES": raw})


def test_media_dir_that_is_a_file_is_refused(tmp_path):
    file = tmp_path / "not-a-dir"
    file.write_text("x")
    with pytest.raises(SettingsError, match="BENKADI_MEDIA_DIR"):
        Settings.from_env({"BENKADI_MEDIA_DIR": str(file)})
