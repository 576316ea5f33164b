"""`dispatcher web` serves the app in its own process, with tokens kept out of its log."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.database import migrate
from tests.support.web import free_port

REPO = Path(__file__).resolve().parents[2]
TOKEN = "AbCdEf0123456789-personal-token_xyz"


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "dispatcher web exited"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"nothing answered at {url}")


@pytest.mark.integration
def test_the_web_command_serves_pages_and_hides_tokens_in_its_log(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/dispatcher.sqlite"
    migrate(url)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "a-long-enough-secret-key-for-the-test-0123456789",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    command = [sys.executable, "-c", "from dispatcher.cli import main; main()"]
    log = (tmp_path / "web.log").open("wb")
    process = subprocess.Popen(
        [*command, "web", "--port", str(port)], cwd=REPO, env=env, stdout=log, stderr=log
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base + "/", process)
        assert httpx.get(base + "/").status_code == 200
        assert httpx.get(f"{base}/u/{TOKEN}").status_code in (400, 404)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
    written = (tmp_path / "web.log").read_text()
    assert "GET /u/<token>" in written  # the access log is on, and redacted
    assert TOKEN not in written
