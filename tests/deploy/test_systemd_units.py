"""The systemd units in deploy/systemd: what systemd itself says of them, and their sandbox.

``systemd-analyze verify`` reads each unit as systemd would load it (unknown keys,
bad values, an ExecStart that is not executable). The units name the installed
virtualenv, /opt/dispatcher/.venv: the test verifies copies that name this one's, so
the commands it checks are the real ones. It runs without systemd as PID 1 (as in
this container); where systemd-analyze is not installed at all it is skipped, and says so.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).parents[2] / "deploy" / "systemd"
NAMES = ("web", "worker", "beat", "bounces")
INSTALLED_BIN = "/opt/dispatcher/.venv/bin/"
SANDBOX = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ReadWritePaths": "/var/lib/dispatcher",
    "User": "dispatcher",
    "EnvironmentFile": "/etc/dispatcher/env",
    "Restart": "on-failure",
}


def _service(name: str) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read(UNITS / f"dispatcher-{name}.service")
    return dict(parser["Service"])


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed here (Debian: the systemd package)",
)
def test_systemd_accepts_every_unit(tmp_path: Path) -> None:
    here = str(Path(sys.executable).parent) + "/"
    for name in NAMES:
        text = (UNITS / f"dispatcher-{name}.service").read_text()
        assert INSTALLED_BIN in text
        (tmp_path / f"dispatcher-{name}.service").write_text(text.replace(INSTALLED_BIN, here))
    units = sorted(str(path) for path in tmp_path.iterdir())
    done = subprocess.run(
        ["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60
    )
    # A warning (an unknown key, a bad value) exits 0 but is a mistake all the same.
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stderr


@pytest.mark.parametrize("name", NAMES)
def test_each_unit_is_sandboxed(name: str) -> None:
    service = _service(name)
    assert {key: service.get(key) for key in SANDBOX} == SANDBOX


def test_stopping_a_worker_lets_celery_finish_its_batch() -> None:
    # mixed: SIGTERM to Celery's main process alone (its warm shutdown), SIGKILL to all
    # only after the timeout; control-group would SIGTERM the pool processes mid-batch.
    service = _service("worker")
    assert service["KillMode"] == "mixed" and service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) >= 300
