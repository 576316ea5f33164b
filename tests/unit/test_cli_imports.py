"""The command line starts without the web app or Celery: each command imports its own.

Every case runs in a fresh interpreter, since this test process has imported everything
already. No timings are asserted (machines are noisy); what is loaded is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from dispatcher.cli.main import COMMANDS, cli, load
from tests.support.database import migrate

REPO = Path(__file__).resolve().parents[2]
EDITION = REPO / "examples" / "cronache-da-palazzo-cisterna.md"
NEWSLETTER = REPO / "examples" / "cronache.toml"
#: Never needed to start a command that does not serve pages or run tasks.
WEB_AND_CELERY = ("fastapi", "starlette", "celery", "kombu", "dispatcher.web", "dispatcher.worker")

PROBE = """
import json, sys
from dispatcher.cli.main import cli
try:
    cli.main(args=sys.argv[1:], prog_name="dispatcher", standalone_mode=False)
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by(args: list[str], environ: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running ``dispatcher ARGS``."""
    env = {**os.environ, **(environ or {}), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def packages_among(modules: set[str], names: tuple[str, ...]) -> set[str]:
    return {name for name in names if any(m == name or m.startswith(f"{name}.") for m in modules)}


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    """The demo's embedded defaults (examples/demo.sh), with a migrated SQLite database."""
    url = f"sqlite:///{tmp_path}/dispatcher.sqlite"
    migrate(url)
    return {
        "DISPATCHER_DEMO": "1",
        "DATABASE_URL": url,
        "BROKER_URL": f"sqla+sqlite:///{tmp_path}/broker.sqlite",
        "SMTP_URL": f"file://{tmp_path}/outbox",
    }


def test_help_imports_no_command() -> None:
    modules = loaded_by(["--help"])
    assert packages_among(modules, WEB_AND_CELERY) == set()
    # The group itself and its error translation; no command.
    expected = {"dispatcher.cli.main", "dispatcher.cli.errors"}
    assert {m for m in modules if m.startswith("dispatcher.cli.")} == expected
    assert "sqlalchemy" not in modules


def test_status_loads_neither_the_web_app_nor_celery(demo_env: dict[str, str]) -> None:
    modules = loaded_by(["status"], demo_env)
    assert "dispatcher.cli.status" in modules
    assert "dispatcher.office.scheduling" not in modules  # what starting a send needs
    assert packages_among(modules, WEB_AND_CELERY) == set()


def test_editions_add_loads_neither_the_web_app_nor_celery(demo_env: dict[str, str]) -> None:
    loaded_by(["lists", "create", "cronache", "Cronache", "--settings", str(NEWSLETTER)], demo_env)
    modules = loaded_by(["editions", "add", str(EDITION)], demo_env)
    assert packages_among(modules, WEB_AND_CELERY) == set()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_lazy_command_is_the_one_its_summary_describes(name: str) -> None:
    command = load(COMMANDS[name].target)
    assert command.name == name
    stand_in = click.Command(name, help=COMMANDS[name].summary)
    assert command.get_short_help_str(200) == stand_in.get_short_help_str(200)


def test_the_lazy_groups_subcommands_are_all_reachable() -> None:
    context = click.Context(cli)
    for name in cli.list_commands(context):
        assert cli.get_command(context, name) is not None
    send = cli.get_command(context, "send")
    lists = cli.get_command(context, "lists")
    assert isinstance(send, click.Group) and "start" in send.commands
    assert isinstance(lists, click.Group) and "slot" in lists.commands
