"""The alerting rules in deploy/prometheus: valid, and each one fires when it should and only then.

``promtool test rules`` runs deploy/prometheus/alerts_test.yml, whose series and expected
alerts cover each rule and its look-alikes (a held send is not stuck, a small send's
rate says nothing). promtool comes with Debian's ``prometheus`` package, which
``make system-packages`` installs: on CI a missing promtool is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

RULES = Path(__file__).parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")

pytestmark = pytest.mark.skipif(
    PROMTOOL is None and not os.environ.get("CI"),
    reason="promtool is missing: apt-get install prometheus (make system-packages does)",
)


def _promtool(*args: str) -> str:
    assert PROMTOOL is not None, "promtool is missing on CI: make system-packages installs it"
    done = subprocess.run(
        [PROMTOOL, *args], cwd=RULES, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_rules_are_valid() -> None:
    assert "SUCCESS: 7 rules found" in _promtool("check", "rules", "alerts.yml")


def test_each_alert_fires_when_it_should_and_only_then() -> None:
    assert "SUCCESS" in _promtool("test", "rules", "alerts_test.yml")


def test_every_alert_is_tested_firing_and_silent() -> None:
    """An alert nobody tests firing, or nobody tests staying silent, is not checked."""
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((RULES / "alerts_test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    fired = {case["alertname"] for case in cases if case["exp_alerts"]}
    silent = {case["alertname"] for case in cases if not case["exp_alerts"]}
    assert names == fired
    assert names <= silent
