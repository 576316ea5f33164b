"""The seed edition, as a subscriber gets it, scores no points with SpamAssassin."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from dispatcher.preflight import spam
from tests.unit.test_preflight import _example

pytestmark = pytest.mark.skipif(
    shutil.which("spamassassin") is None, reason="make test installs spamassassin"
)


def _score(eml: bytes) -> spam.SpamResult:
    done = subprocess.run(
        ["spamassassin", "--local", "--test-mode", "--nocreate-prefs", "--cf=use_bayes 0"],
        input=eml, capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    result = spam.parse_spam_status(done.stdout)
    assert result is not None, done.stderr
    return result


def test_the_seed_edition_scores_zero_or_less() -> None:
    result = _score(_example().eml)
    assert "HTML_FONT_LOW_CONTRAST" not in result.rules
    assert result.score <= 0, result


def test_the_preheader_is_still_the_first_text_and_hidden() -> None:
    html = _example().html
    body = html[html.index("<body") :]
    hidden = body.index('<div style="display:none;')
    assert hidden < body.index("Leggi nel browser")
    assert "Il panettone dei futuri chef" in body[hidden : hidden + 400]
    assert "color:#ffffff;line-height:1px" not in html
