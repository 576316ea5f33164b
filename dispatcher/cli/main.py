"""The command group and its sub-groups."""

from __future__ import annotations

import logging

import click

from dispatcher.cli import (
    bounces,
    control,
    db,
    editions,
    limits,
    lists,
    privacy,
    schedule,
    sending,
    subscribers,
    users,
    web,
)
from dispatcher.cli.context import AppContext
from dispatcher.cli.errors import TranslatingGroup
from dispatcher.config import Settings
from dispatcher.errors import ConfigurationError


@click.group(cls=TranslatingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (INFO level).")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Newsletter dispatcher: editions, lists, sends and their delivery ledger.

    Settings come from the environment (DATABASE_URL, BROKER_URL, SMTP_URL,
    PUBLIC_URL, SECRET_KEY, ...); see settings.example.toml.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    try:
        ctx.obj = AppContext(Settings.from_env())
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc


for module in (
    db,
    lists,
    subscribers,
    privacy,
    editions,
    sending,
    control,
    schedule,
    bounces,
    limits,
    users,
    web,
):
    module.register(cli)


def main() -> None:
    cli(prog_name="dispatcher")
