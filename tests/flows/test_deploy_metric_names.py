"""The Grafana dashboard and the alerting rules name only metrics that /metrics really exports.

A renamed metric would leave a panel empty and an alert silent without any error:
the test scrapes the real app's /metrics (PostgreSQL, Redis under the test's prefix)
and compares the names each PromQL expression uses with the names it lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.web.app import create_app

DEPLOY = Path(__file__).parents[2] / "deploy"
#: Prometheus's own series, which every scrape target has.
PROMETHEUS_OWN = {"up"}
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
# What is not a metric name: quoted text, label matchers, ranges, grouping labels, then
# function calls (an identifier before "(").
_NOT_NAMES = (
    re.compile(r'"[^"]*"'),
    re.compile(r"\{[^}]*\}"),
    re.compile(r"\[[^\]]*\]"),
    re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"),
    re.compile(r"\b[a-z_]+\s*\("),
)
_IDENTIFIER = re.compile(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*")


@pytest.fixture
def settings(make_settings: Callable[..., Settings], pg_url: str) -> Settings:
    return make_settings(database_url=pg_url)


@pytest.fixture
def exported(settings: Settings, pg_sessions: sessionmaker[Session]) -> set[str]:
    """The names /metrics lists (from its TYPE lines: a family with no sample has one too)."""
    app = create_app(settings, sessions=pg_sessions)
    with TestClient(app, base_url="https://testserver", client=("127.0.0.1", 50000)) as local:
        text = local.get("/metrics").text
    return set(re.findall(r"^# TYPE (\S+) ", text, re.M))


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    for pattern in _NOT_NAMES:
        expr = pattern.sub(" ", expr)
    return {name for name in _IDENTIFIER.findall(expr) if name not in _KEYWORDS}


def _exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from _exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _exprs(item)


def test_the_name_reader_finds_names_and_nothing_else() -> None:
    expr = (
        'sum by (send_id) (deriv(a_total{status=~"sent|x"}[5m])) / on (send_id) b > 0.1 '
        "and c unless d == 1e3 or up"
    )
    assert metric_names(expr) == {"a_total", "b", "c", "d", "up"}


def test_every_dashboard_expression_names_exported_metrics(exported: set[str]) -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dispatcher.json").read_text())
    used = set().union(*(metric_names(expr) for expr in _exprs(dashboard)))
    assert used - exported == set()
    # The same figures: every dispatcher metric has a panel.
    assert {name for name in exported if name.startswith("dispatcher_")} <= used


def test_every_alert_names_exported_metrics(exported: set[str]) -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    used = set().union(*(metric_names(expr) for expr in _exprs(rules)))
    assert "dispatcher_send_last_progress_age_seconds" in used
    assert used - exported - PROMETHEUS_OWN == set()
