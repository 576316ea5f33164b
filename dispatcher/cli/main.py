"""The ``dispatcher`` command group: each command's module is imported when it runs.

Importing every command up front loaded the web app, Celery and the rest before even
``--help`` could answer (1.5 s). The commands are named here instead, as
``module:attribute`` strings beside their one-line summaries (Click's LazyGroup
pattern), so ``--help`` imports no command and ``dispatcher status`` imports only its own.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, NamedTuple

import click

from dispatcher.cli.errors import TranslatingGroup


class Lazy(NamedTuple):
    """Where a command lives, and the summary ``--help`` lists without importing it."""

    target: str  # "package.module:attribute"
    summary: str  # the first paragraph of the command's help (a test keeps them equal)


COMMANDS = {
    "bounces": Lazy(
        "dispatcher.cli.bounces:bounces",
        "Bounces, spam complaints and mailto unsubscribes that come back.",
    ),
    "calendar": Lazy(
        "dispatcher.cli.calendar:group",
        "Block sending for a period (par condicio); list and remove blocks.",
    ),
    "db": Lazy("dispatcher.cli.db:group", "Create and migrate the database schema."),
    "dkim": Lazy("dispatcher.cli.limits:dkim", "DKIM signing: the DNS record to publish."),
    "editions": Lazy(
        "dispatcher.cli.editions:group", "Add, update, preview, list and approve editions."
    ),
    "limits": Lazy(
        "dispatcher.cli.limits:limits",
        "Global sending limits shared by every worker (changeable while a send runs).",
    ),
    # The lists group as dispatcher.cli.schedule leaves it: with `lists slot` added.
    "lists": Lazy(
        "dispatcher.cli.schedule:lists_group", "Create lists and set their newsletter settings."
    ),
    "preflight": Lazy(
        "dispatcher.cli.control:preflight",
        "Check edition EDITION_ID before sending: size, images, links, text, contrast, spam.",
    ),
    "privacy": Lazy(
        "dispatcher.cli.privacy:privacy",
        "Data protection: retention of the delivery ledger's personal data.",
    ),
    "reconcile": Lazy(
        "dispatcher.cli.sending:reconcile_command",
        "Run the reconciler once, exactly as the beat does every few seconds.",
    ),
    "schedule": Lazy(
        "dispatcher.cli.schedule:group",
        "List scheduled sends; move or cancel one before it starts.",
    ),
    "send": Lazy(
        "dispatcher.cli.control:send_group",
        "Start a send, or control one: pause, resume, cancel, retry, late, correction.",
    ),
    "status": Lazy(
        "dispatcher.cli.status:status",
        "Counts per status, rate and failures of a send (default: the latest sends).",
    ),
    "subscribers": Lazy(
        "dispatcher.cli.subscribers:group", "Import, export and erase subscribers."
    ),
    "suppressions": Lazy(
        "dispatcher.cli.privacy:suppressions",
        "The addresses never to send to, whatever their subscriptions say.",
    ),
    "users": Lazy(
        "dispatcher.cli.users:group",
        "Create users, set their passwords, disable and enable them, reset their TOTP.",
    ),
    "web": Lazy(
        "dispatcher.cli.web:web",
        "Serve the web app with uvicorn (behind a TLS-terminating proxy in production).",
    ),
}


class LazyGroup(TranslatingGroup):
    """A group whose commands are imported by name the first time one is asked for."""

    def __init__(self, *args: Any, lazy: dict[str, Lazy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(load(self.lazy[cmd_name].target), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Click's own listing would import every command to ask for its summary.
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        rows = [(name, self._short_help(ctx, name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _short_help(self, ctx: click.Context, name: str, limit: int) -> str:
        if name in self.commands or name not in self.lazy:
            command = super().get_command(ctx, name)
        else:  # a stand-in, so the summary is cut exactly as the real command's would be
            command = click.Command(name, help=self.lazy[name].summary)
        return command.get_short_help_str(limit) if command else ""


def load(target: str) -> click.Command:
    """The command a ``module:attribute`` string names, its module imported now."""
    module_name, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (INFO level).")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Newsletter dispatcher: editions, lists, sends and their delivery ledger.

    Settings come from the environment (DATABASE_URL, BROKER_URL, SMTP_URL,
    PUBLIC_URL, SECRET_KEY, ...); see settings.example.toml.
    """
    # Imported here, not at the top: `--help` answers before this runs, without them.
    from dispatcher.cli.context import AppContext
    from dispatcher.config import Settings

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    # A ConfigurationError here is translated like every command's (TranslatingGroup).
    ctx.obj = AppContext(Settings.from_env())


def main() -> None:
    cli(prog_name="dispatcher")
