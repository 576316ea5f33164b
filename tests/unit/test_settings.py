"""Settings read from the environment: each variable reaches its field, bad values are named."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from dispatcher.config import (
    DkimSettings,
    Rate,
    SendingSettings,
    Settings,
    SmtpSettings,
    WebSettings,
)
from dispatcher.errors import ConfigurationError

EXAMPLE = Path(__file__).resolve().parents[2] / "settings.example.toml"
SECTIONS: tuple[type[Any], ...] = (
    Settings,
    SmtpSettings,
    SendingSettings,
    DkimSettings,
    WebSettings,
)

# The settings that were constants in the code, with a value other than the default.
NEW = [
    ("LOGIN_RATE", "7/60", lambda s: s.web.login_rate, Rate(limit=7, window=60)),
    ("SIGNUP_RATE", " 2 / 30 ", lambda s: s.web.signup_rate, Rate(limit=2, window=30)),
    ("SIGNUP_MAIL_RATE", "1/86400", lambda s: s.web.signup_mail_rate, Rate(1, 86400)),
    ("SIGNUP_FORM_MAX_AGE", "600", lambda s: s.web.signup_form_max_age, 600),
    ("CONFIRM_MAX_AGE", "172800", lambda s: s.web.confirm_max_age, 172800),
    ("PRIVACY_VERSION", "2026-01", lambda s: s.web.privacy_version, "2026-01"),
    ("HEARTBEAT_SECONDS", "2.5", lambda s: s.heartbeat_seconds, 2.5),
    ("METRICS_TOKEN", "m-token", lambda s: s.metrics_token, "m-token"),
    ("API_TOKEN", "a-token", lambda s: s.api_token, "a-token"),
]

MALFORMED = [
    ("LOGIN_RATE", "20"),
    ("SIGNUP_RATE", "five/600"),
    ("SIGNUP_MAIL_RATE", "0/3600"),
    ("SIGNUP_FORM_MAX_AGE", "6h"),
    ("CONFIRM_MAX_AGE", "3600"),  # under a day: the mail could not say how many days
    ("HEARTBEAT_SECONDS", "often"),
    ("HEARTBEAT_SECONDS", "0"),
    ("SEND_BATCH_SIZE", "1e3"),
    ("SMTP_PIPELINING", "maybe"),
    ("REQUIRE_TOTP_FOR", "editor"),  # only approvers and admins can enrol
]


@pytest.mark.parametrize(("name", "raw", "read", "expected"), NEW, ids=[n[0] for n in NEW])
def test_each_variable_reaches_its_field(name: str, raw: str, read: Any, expected: Any) -> None:
    assert read(Settings.from_env({name: raw})) == expected
    assert read(Settings.from_env({})) != expected  # the default is something else


@pytest.mark.parametrize(("name", "raw"), MALFORMED, ids=[f"{n}={r}" for n, r in MALFORMED])
def test_a_malformed_value_is_refused_naming_its_variable(name: str, raw: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: raw})


def test_the_defaults_are_the_former_constants() -> None:
    web = Settings.from_env({}).web
    assert web == WebSettings()
    assert (web.login_rate, web.signup_rate, web.signup_mail_rate) == (
        Rate(20, 600),
        Rate(5, 600),
        Rate(3, 3600),
    )
    assert (web.signup_form_max_age, web.confirm_max_age) == (6 * 3600, 7 * 86400)
    assert web.privacy_version == "2024-12" and Settings().heartbeat_seconds == 5.0


def test_totp_can_be_required_for_approvers_and_admins() -> None:
    web = Settings.from_env({"REQUIRE_TOTP_FOR": "approver, admin"}).web
    assert web.totp_required_roles == {"approver", "admin"}
    assert Settings.from_env({}).web.totp_required_roles == frozenset()


def test_an_empty_variable_keeps_the_default() -> None:
    empty = {name: "" for name in _variables()}
    assert Settings.from_env(empty) == Settings.from_env({})


def test_every_variable_is_read_and_documented_in_the_example() -> None:
    documented = {name for table in tomllib.loads(EXAMPLE.read_text()).values() for name in table}
    assert _variables() <= documented
    # A value of each field's kind reaches that field, whatever its section.
    samples = {"str": "x", "str | None": "x", "bool": "1", "int": "86401", "float": "9.5"}
    for section in SECTIONS:
        for item in fields(section):
            name = item.metadata.get("env")
            if name is None or name in {"UNCERTAIN_POLICY", "REQUIRE_TOTP_FOR"}:  # choices
                continue
            raw = samples.get(str(item.type), "4/40")
            if item.type == "bool":
                raw = "0" if item.default else "1"
            settings = Settings.from_env({name: raw})
            assert _field(settings, section, item.name) != item.default, name


def _variables() -> set[str]:
    return {
        item.metadata["env"]
        for section in SECTIONS
        for item in fields(section)
        if "env" in item.metadata
    }


def _field(settings: Settings, section: type[Any], name: str) -> Any:
    holder: Any = {
        Settings: settings,
        SmtpSettings: settings.smtp,
        SendingSettings: settings.sending,
        DkimSettings: settings.dkim,
        WebSettings: settings.web,
    }[section]
    return getattr(holder, name)
