"""Escape sequences in relay replies, bounces and files never reach the operator's terminal."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dispatcher.cli.output import harmless, harmless_json
from dispatcher.cli.render_status import print_status
from dispatcher.sends.status import BounceGroup, FailureGroup, SendView

NASTY = [
    "\x1b[2J\x1b[H",  # clear the screen
    "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07",  # OSC 52: write the clipboard
    "ok\rforged",  # hide what came before
    "line\nInjected: line",  # a second line that is not one
    "\u202egnp.exe",  # right-to-left override
    "\x9b31m",  # C1 CSI
    "\x7f",
]


@pytest.mark.parametrize("text", NASTY)
def test_every_control_character_is_shown_as_an_escape(text: str) -> None:
    shown = harmless(text)
    assert shown.isprintable()
    assert all(char.isprintable() for char in shown)


def test_ordinary_text_is_unchanged() -> None:
    text = "550 5.1.1 <nicolò@città.it>: utente sconosciuto — riprova più tardi"
    assert harmless(text) == text


def test_json_keeps_accents_readable_but_escapes_controls() -> None:
    record = {"reply": "Nicolò \u202e\x9b\x1b[2J", "name": "Città"}
    shown = harmless_json(record)
    assert "Nicolò" in shown and "Città" in shown
    assert all(char.isprintable() or char in "\n" for char in shown)
    assert json.loads(shown) == record  # still the same data


def test_status_prints_replies_and_bounces_harmlessly(capsys: pytest.CaptureFixture[str]) -> None:
    now = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
    view = SendView(
        send_id=1, edition_id=1, subject="Cronache \x1b[31m", kind="normal", parent_send_id=None,
        lists=("cronache",), state="finished", state_reason="", scheduled_at=now,
        started_at=now, finished_at=now, hold_until=None,
        counts=dict.fromkeys(("queued", "sending", "deferred", "sent", "failed", "uncertain",
                              "bounced", "complained", "skipped"), 0),
        rate=None, eta_seconds=None,
        failures=(FailureGroup("failed", 550, "5.7.1 \x1b]52;c;ZXZpbA==\x07 no", 3),),
        bounces=(BounceGroup("hard", "5.1.1", "user unknown\x1b[2J\u202e", 2),),
    )  # fmt: skip
    print_status(view)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b]52" in out and "\\u202e" in out
