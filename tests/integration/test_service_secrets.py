"""The web app, the worker, the beat and the bounce receiver refuse a key anyone could know.

Each is started as an operator would start it, in its own process, and must stop at once
with one line that names the setting, not a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dispatcher.config import DEMO_SECRET_KEY, Settings
from dispatcher.errors import ConfigurationError
from tests.support.database import migrate

REPO = Path(__file__).resolve().parents[2]
DISPATCHER = [sys.executable, "-c", "from dispatcher.cli import main; main()"]
CELERY = [sys.executable, "-m", "celery", "-A", "worker"]

COMMANDS = {
    "web": [*DISPATCHER, "web", "--port", "1"],
    "bounce receiver": [*DISPATCHER, "bounces", "serve", "--port", "1"],
    "worker": [*CELERY, "worker", "--pool", "solo"],
    "beat": [*CELERY, "beat"],
}
CASES = {
    "no key": ({}, "SECRET_KEY is not set"),
    "a short key": ({"SECRET_KEY": "corta"}, "5 characters long, fewer than 32"),
    "the demo's key": ({"SECRET_KEY": DEMO_SECRET_KEY}, "demo's published key"),
    "the demo on a public address": (
        {"DISPATCHER_DEMO": "1", "PUBLIC_URL": "https://newsletter.example.it"},
        "DISPATCHER_DEMO=1 signs with a published key",
    ),
}


@pytest.mark.integration
@pytest.mark.parametrize("service", COMMANDS)
@pytest.mark.parametrize("case", CASES)
def test_a_service_with_a_known_key_stops_with_one_line(
    service: str, case: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/d.sqlite"
    migrate(url)
    extra, words = CASES[case]
    scrubbed = {
        k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "DISPATCHER_"))
    }
    env = {**scrubbed, "DATABASE_URL": url, "BROKER_URL": f"sqla+sqlite:///{tmp_path}/b.sqlite"}
    done = subprocess.run(
        COMMANDS[service], cwd=REPO, env={**env, **extra}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_the_demo_on_loopback_and_a_real_key_are_accepted() -> None:
    Settings(demo=True, public_url="http://127.0.0.1:8000").check_service_secrets()
    Settings(secret_keys=("x" * 32,), public_url="https://n.example.it").check_service_secrets()
    with pytest.raises(ConfigurationError, match="fallback"):
        Settings(secret_keys=("x" * 32, DEMO_SECRET_KEY)).check_service_secrets()
