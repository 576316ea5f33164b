"""``dispatcher limits`` and ``dispatcher dkim``: sending limits and the DKIM record."""

from __future__ import annotations

import click
from redis import Redis

from dispatcher.cli.context import AppContext, pass_app
from dispatcher.errors import ConfigurationError
from dispatcher.message.dkim import configured_keys, zone_entry
from dispatcher.sends.ratelimit import Limits, RateLimiter


def _limiter(app: AppContext) -> RateLimiter:
    url = app.settings.redis
    if url is None:
        raise ConfigurationError("limits live in Redis: set BROKER_URL (redis://) or REDIS_URL")
    return RateLimiter(Redis.from_url(url), app.settings.broker_key_prefix)


@click.group("limits")
def limits() -> None:
    """Global sending limits shared by every worker (changeable while a send runs)."""


@limits.command("set")
@click.option("--per-second", type=float, default=0, help="Messages a second (0: no limit).")
@click.option("--per-hour", type=float, default=0, help="Messages an hour (0: no limit).")
@click.option(
    "--domain",
    "domains",
    multiple=True,
    metavar="DOMAIN=N",
    help="At most N messages a minute to a recipient domain (repeatable).",
)
@pass_app
def set_limits(
    app: AppContext, per_second: float, per_hour: float, domains: tuple[str, ...]
) -> None:
    """Replace the limits in force; workers apply them within seconds."""
    per_domain: dict[str, float] = {}
    for item in domains:
        name, _, count = item.partition("=")
        try:
            per_domain[name.strip().lower()] = float(count)
        except ValueError as exc:
            raise click.BadParameter(f"{item!r}: use DOMAIN=N", param_hint="--domain") from exc
    _limiter(app).set_limits(Limits(per_second or None, per_hour or None, per_domain))
    click.echo(_describe(_limiter(app).limits))


@limits.command("show")
@pass_app
def show(app: AppContext) -> None:
    """Print the limits in force."""
    click.echo(_describe(_limiter(app).limits))


def _describe(current: Limits) -> str:
    parts = [
        f"per second: {current.per_second or 'no limit'}",
        f"per hour: {current.per_hour or 'no limit'}",
    ]
    parts += [f"{d}: {n:g}/min" for d, n in sorted(current.per_domain_minute.items())]
    return ", ".join(parts)


@click.group("dkim")
def dkim() -> None:
    """DKIM signing: the DNS record to publish."""


@dkim.command("record")
@pass_app
def record(app: AppContext) -> None:
    """Print the TXT record of every signing key, as zone file lines."""
    keys = configured_keys(app.settings.dkim)
    if not keys:
        raise ConfigurationError("set DKIM_DOMAIN, DKIM_SELECTOR and DKIM_KEY_FILE (or DKIM_KEYS)")
    for key in keys:
        click.echo(zone_entry(key))
