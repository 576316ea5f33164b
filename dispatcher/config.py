"""Settings: one typed, frozen object built at the edge and passed down.

Nothing else in the project reads ``os.environ``. A field made with
``_env("NAME", default)`` is read from the variable ``NAME`` by the one reader of its
type (text, flag, whole number, number, rate), so adding a setting is one line here
and one in ``settings.example.toml``, the commented list of the environment names.
Every field says its unit and default. Tests build :class:`Settings` directly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit

from dispatcher.errors import ConfigurationError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_T = TypeVar("_T")
_D = TypeVar("_D", bound="DataclassInstance")

DEFAULT_DATA_DIR = Path("var")
#: Used only when DISPATCHER_DEMO=1; any other run without SECRET_KEY is refused.
DEMO_SECRET_KEY = "demo-only-secret-key-never-use-in-production"  # nosec B105 - public by design
#: Characters a SECRET_KEY needs at least: it signs every unsubscribe link, forever.
MIN_SECRET_LENGTH = 32
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def _env(name: str, default: _T) -> _T:
    """A field read from the environment variable ``name`` (see :func:`_read`)."""
    return field(default=default, metadata={"env": name})


@dataclass(frozen=True)
class Rate:
    """At most ``limit`` hits per ``window`` seconds; written ``LIMIT/SECONDS`` in the
    environment (``20/600``: twenty per ten minutes)."""

    limit: int
    window: int  # seconds


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand messages to the relay.

    ``url`` is ``smtp://[user:pass@]host:port`` (plain, STARTTLS when ``starttls``),
    ``smtps://...`` (TLS from the start) or ``file:///path`` (outbox folder).
    """

    url: str | None = _env("SMTP_URL", None)  # none: no relay configured
    starttls: bool = _env("SMTP_STARTTLS", False)  # require STARTTLS before MAIL
    helo_name: str = _env("SMTP_HELO", "localhost")  # name given in EHLO
    # Seconds to open the TCP connection and read the greeting.
    connect_timeout: float = _env("SMTP_CONNECT_TIMEOUT", 10.0)
    command_timeout: float = _env("SMTP_COMMAND_TIMEOUT", 30.0)  # seconds for each reply
    data_timeout: float = _env("SMTP_DATA_TIMEOUT", 60.0)  # seconds to write a message
    # Seconds for the reply after the final dot (silence: the message is in doubt).
    final_timeout: float = _env("SMTP_FINAL_TIMEOUT", 120.0)
    # Reconnect after this many messages.
    messages_per_connection: int = _env("SMTP_MESSAGES_PER_CONNECTION", 1000)
    pipelining: bool = _env("SMTP_PIPELINING", True)  # RFC 2920 when the server offers it
    # OUTBOX_IS_DELIVERY: with a file:/// SMTP_URL, whether a message written to the outbox
    # counts as delivered to its subscriber. Off (the default), such rows are recorded
    # "skipped" (nobody got a message), so a real send later reaches everyone; on only
    # where the outbox is the production transport (the demo; a relay that picks the
    # files up).
    outbox_is_delivery: bool = _env("OUTBOX_IS_DELIVERY", False)

    @property
    def scheme(self) -> str:
        return urlsplit(self.url or "").scheme

    @property
    def host(self) -> str:
        return urlsplit(self.url or "").hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        parts = urlsplit(self.url or "")
        return parts.port or (465 if parts.scheme == "smtps" else 25)

    @property
    def username(self) -> str | None:
        user = urlsplit(self.url or "").username
        return unquote(user) if user else None

    @property
    def password(self) -> str | None:
        secret = urlsplit(self.url or "").password
        return unquote(secret) if secret else None

    @property
    def outbox_path(self) -> Path:
        return Path(unquote(urlsplit(self.url or "").path))

    def __repr__(self) -> str:
        # The URL may hold a password: never print it.
        return f"SmtpSettings(scheme={self.scheme!r}, host={self.host!r}, port={self.port})"


@dataclass(frozen=True)
class SendingSettings:
    """How sends are cut into batches, retried and recovered."""

    batch_size: int = _env("SEND_BATCH_SIZE", 500)  # ledger rows per batch task
    dispatch_window: int = _env("SEND_WINDOW", 8)  # batch tasks of one send in the broker at once
    lease_seconds: float = _env("SEND_LEASE", 300.0)  # a claim not renewed this long is dead
    # Seconds after which a batch enqueued and not picked up is enqueued again.
    redispatch_after: float = _env("SEND_REDISPATCH_AFTER", 60.0)
    # Seconds between two runs of the beat's reconciler.
    reconcile_interval: float = _env("RECONCILE_INTERVAL", 5.0)
    retry_base: float = _env("RETRY_BASE", 60.0)  # first backoff after a 4xx, seconds; doubles
    retry_max_interval: float = _env("RETRY_MAX_INTERVAL", 3600.0)  # backoff cap, seconds
    # Seconds after which a row still deferred fails as expired (48 h).
    retry_window: float = _env("RETRY_WINDOW", 48 * 3600.0)
    # Seconds to hold a send after the relay was unreachable; doubles up to the cap.
    relay_backoff_base: float = _env("RELAY_BACKOFF_BASE", 15.0)
    relay_backoff_max: float = _env("RELAY_BACKOFF_MAX", 600.0)
    # UNCERTAIN_POLICY: what to do with a message that may or may not have reached the
    # relay (no reply after the final dot, or a worker that died with it in flight).
    # "resend" (the default, as Postfix does after a timeout at the dot): try again;
    # the copy keeps its Message-ID, so clients can fold it into the first, and the
    # row stays flagged in_doubt. "keep": never resend; the row stays "uncertain".
    uncertain_policy: str = _env("UNCERTAIN_POLICY", "resend")
    # PostgreSQL waits for the WAL flush on every fold of outcomes.
    ledger_synchronous_commit: bool = _env("LEDGER_SYNC_COMMIT", False)
    # SEND_JOURNAL_DIR: where each worker process journals its outcomes before they reach
    # the ledger. A local folder shared by every worker process of the machine (and its
    # beat, if it runs there), kept across restarts: a dead process's successor folds
    # what it left there.
    journal_dir: str = _env("SEND_JOURNAL_DIR", str(DEFAULT_DATA_DIR / "journal"))
    # Development switch: every message goes to this address instead (none: off).
    redirect_all_to: str | None = _env("REDIRECT_ALL_TO", None)
    auto_pause_window: int = _env("AUTO_PAUSE_WINDOW", 200)  # outcomes looked at; 0: off
    auto_pause_ratio: float = _env("AUTO_PAUSE_RATIO", 0.2)  # share not delivered that pauses
    rate_per_second: float = _env("RATE_PER_SECOND", 0.0)  # default global limit (0: none)
    rate_per_hour: float = _env("RATE_PER_HOUR", 0.0)  # default global limit (0: none)

    def __post_init__(self) -> None:
        if self.uncertain_policy not in ("keep", "resend"):
            raise ConfigurationError("UNCERTAIN_POLICY must be 'keep' or 'resend'")
        if self.batch_size < 1 or self.dispatch_window < 1:
            raise ConfigurationError("SEND_BATCH_SIZE and SEND_WINDOW must be at least 1")


@dataclass(frozen=True)
class DkimSettings:
    """DKIM signing of every message; off unless the domain and at least one key are set."""

    domain: str | None = _env("DKIM_DOMAIN", None)  # the d= domain (aligned with From for DMARC)
    selector: str | None = _env("DKIM_SELECTOR", None)  # the s= selector of DKIM_KEY_FILE
    key_file: str | None = _env("DKIM_KEY_FILE", None)  # PEM private key, RSA-2048 or Ed25519
    # More keys, each signing every message too: "selector:/path.pem,selector:/path.pem"
    # (RFC 8463 suggests an Ed25519 signature beside the RSA one while receivers adopt it).
    extra_keys: str | None = _env("DKIM_KEYS", None)

    @property
    def key_specs(self) -> list[tuple[str, str]]:
        """Every (selector, PEM file) to sign with, DKIM_SELECTOR/DKIM_KEY_FILE first.

        :raises ConfigurationError: when DKIM_KEYS has an entry without a selector or file
        """
        specs = [(self.selector, self.key_file)] if self.selector and self.key_file else []
        for entry in filter(None, (e.strip() for e in (self.extra_keys or "").split(","))):
            selector, _, path = entry.partition(":")
            if not selector.strip() or not path.strip():
                problem = f"DKIM_KEYS: {entry!r} is not selector:/path/to/key.pem"
                raise ConfigurationError(problem)
            specs.append((selector.strip(), path.strip()))
        return specs

    @property
    def enabled(self) -> bool:
        return bool(self.domain and self.key_specs)


@dataclass(frozen=True)
class WebSettings:
    """The public pages' limits, and what the sign-up promises."""

    # Login attempts per client IP (IPv6: per /64) per window.
    login_rate: Rate = _env("LOGIN_RATE", Rate(limit=20, window=600))
    signup_rate: Rate = _env("SIGNUP_RATE", Rate(limit=5, window=600))  # sign-up posts per IP
    # Sign-up and confirmation mails per address.
    signup_mail_rate: Rate = _env("SIGNUP_MAIL_RATE", Rate(limit=3, window=3600))
    # Seconds a loaded sign-up form may wait before it is sent (6 h).
    signup_form_max_age: int = _env("SIGNUP_FORM_MAX_AGE", 6 * 3600)
    # Seconds a confirmation link works (7 days); its mail says it in whole days.
    confirm_max_age: int = _env("CONFIRM_MAX_AGE", 7 * 86400)
    # The version of the privacy notice every sign-up records: a new text needs a new one.
    privacy_version: str = _env("PRIVACY_VERSION", "2024-12")
    # Roles that must log in with a TOTP code, comma-separated from approver and admin
    # (empty: the second factor is optional for them).
    require_totp_for: str = _env("REQUIRE_TOTP_FOR", "")

    @property
    def totp_required_roles(self) -> frozenset[str]:
        return frozenset(filter(None, (r.strip() for r in self.require_totp_for.split(","))))

    def __post_init__(self) -> None:
        if not self.totp_required_roles <= {"approver", "admin"}:
            raise ConfigurationError("REQUIRE_TOTP_FOR takes approver and admin, comma-separated")
        if self.signup_form_max_age < 1:
            raise ConfigurationError("SIGNUP_FORM_MAX_AGE must be at least 1 (second)")
        if self.confirm_max_age < 86400:
            raise ConfigurationError("CONFIRM_MAX_AGE must be at least 86400 (one day)")


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know, read once at its edge."""

    database_url: str = _env("DATABASE_URL", f"sqlite:///{DEFAULT_DATA_DIR}/dispatcher.sqlite")
    broker_url: str = _env("BROKER_URL", f"sqla+sqlite:///{DEFAULT_DATA_DIR}/broker.sqlite")
    # Prefix of every Redis key (tests use one per run).
    broker_key_prefix: str = _env("BROKER_KEY_PREFIX", "")
    # Rate limits and heartbeats; none: BROKER_URL when it is Redis.
    redis_url: str | None = _env("REDIS_URL", None)
    public_url: str = _env("PUBLIC_URL", "http://127.0.0.1:8000")  # base of links in emails
    secret_keys: tuple[str, ...] = ()  # SECRET_KEY then SECRET_KEY_FALLBACKS (comma-separated)
    bounce_domain: str | None = _env("BOUNCE_DOMAIN", None)  # VERP domain; none: the From's
    demo: bool = _env("DISPATCHER_DEMO", False)  # allows the built-in secret key
    # Days the ledger keeps personal data.
    ledger_retention_days: int = _env("LEDGER_RETENTION_DAYS", 365)
    # Where the desk's dry runs write their messages and reports, one folder per dry run.
    dry_run_dir: str = _env("DRY_RUN_DIR", str(DEFAULT_DATA_DIR / "dry-runs"))
    # Days an unconfirmed sign-up (its pending subscription, request, IP) is kept.
    unconfirmed_retention_days: int = _env("UNCONFIRMED_RETENTION_DAYS", 30)
    soft_bounce_threshold: int = _env("SOFT_BOUNCE_THRESHOLD", 3)  # soft bounces before "bounced"
    # Where `bounces serve` keeps mail for a person, one .eml per message: postmaster/ and
    # abuse/ (mail to those addresses at the bounce domain) and quarantine/ (returned mail it
    # could not read). `dispatcher bounces mail` lists them.
    bounce_mail_dir: str = _env("BOUNCE_MAIL_DIR", str(DEFAULT_DATA_DIR / "bounces"))
    bounce_folder_max_messages: int = _env("BOUNCE_FOLDER_MAX_MESSAGES", 10_000)  # per folder
    bounce_folder_max_mb: int = _env("BOUNCE_FOLDER_MAX_MB", 200)  # per folder, MiB
    require_approval: bool = _env("REQUIRE_APPROVAL", True)  # 0: a one-person office skips it
    # The office's sending calendar (dispatcher.office.calendar): local hours in which a
    # send may start (HH:MM-HH:MM, Europe/Rome; empty: any hour), whether the Italian
    # national holidays are non-sending days, and local ones as MM-DD,MM-DD (Turin: 06-24).
    sending_hours: str = _env("SENDING_HOURS", "08:00-20:00")
    national_holidays: bool = _env("NATIONAL_HOLIDAYS", True)
    local_holidays: str = _env("LOCAL_HOLIDAYS", "")
    heartbeat_seconds: float = _env("HEARTBEAT_SECONDS", 5.0)  # how often workers report
    metrics_token: str | None = _env("METRICS_TOKEN", None)  # bearer token for /metrics from afar
    api_token: str | None = _env("API_TOKEN", None)  # bearer token for the read-only /api/
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    sending: SendingSettings = field(default_factory=SendingSettings)
    dkim: DkimSettings = field(default_factory=DkimSettings)
    web: WebSettings = field(default_factory=WebSettings)

    def __post_init__(self) -> None:
        if self.heartbeat_seconds <= 0:
            raise ConfigurationError("HEARTBEAT_SECONDS must be more than 0")

    @property
    def secret_key(self) -> str:
        """The key that signs new tokens; older keys only verify."""
        if self.secret_keys:
            return self.secret_keys[0]
        if self.demo:
            return DEMO_SECRET_KEY
        raise ConfigurationError("SECRET_KEY is not set (only the demo may run without one)")

    @property
    def all_secret_keys(self) -> tuple[str, ...]:
        return self.secret_keys or (self.secret_key,)

    def check_service_secrets(self) -> None:
        """Refuse to serve (web app, worker, beat, bounce receiver) with a key anyone could know.

        :raises ConfigurationError: one line saying what is wrong and what to do
        """
        how = "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        if not self.secret_keys:
            if not self.demo:
                raise ConfigurationError(f"SECRET_KEY is not set: {how}")
            host = (urlsplit(self.public_url).hostname or "").lower()
            if self.public_url.startswith("https:") or host not in _LOOPBACK_HOSTS:
                raise ConfigurationError(
                    f"DISPATCHER_DEMO=1 signs with a published key, so it serves only on"
                    f" 127.0.0.1, not at PUBLIC_URL {self.public_url}: set SECRET_KEY ({how})"
                )
            return
        if DEMO_SECRET_KEY in self.secret_keys:
            raise ConfigurationError(f"SECRET_KEY or a fallback is the demo's published key: {how}")
        if len(self.secret_keys[0]) < MIN_SECRET_LENGTH:
            raise ConfigurationError(
                f"SECRET_KEY is {len(self.secret_keys[0])} characters long, fewer than"
                f" {MIN_SECRET_LENGTH}: {how}"
            )

    @property
    def redis(self) -> str | None:
        if self.redis_url:
            return self.redis_url
        return self.broker_url if self.broker_url.startswith("redis") else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (see ``settings.example.toml``).

        :raises ConfigurationError: naming the variable whose value cannot be used
        """
        env = _Env(os.environ if environ is None else environ)
        keys = [env.text("SECRET_KEY", "")] + env.text("SECRET_KEY_FALLBACKS", "").split(",")
        settings = _read(
            cls,
            env,
            secret_keys=tuple(k.strip() for k in keys if k.strip()),
            smtp=_read(SmtpSettings, env),
            sending=_read(SendingSettings, env),
            dkim=_read(DkimSettings, env),
            web=_read(WebSettings, env),
        )
        return replace(
            settings,
            database_url=_normalise_db_url(settings.database_url),
            public_url=settings.public_url.rstrip("/"),
        )

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks: secret keys and tokens are never
        # printed, nor the passwords that database and broker URLs may hold.
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in _SECRET_FIELDS and value:
                value = "<hidden>"
            elif item.name in _URL_FIELDS and isinstance(value, str):
                value = redact_url(value)
            shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"


_SECRET_FIELDS = frozenset({"secret_keys", "metrics_token", "api_token"})
_URL_FIELDS = frozenset({"database_url", "broker_url", "redis_url"})


def redact_url(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part, if any, replaced by ``***``.

    :param url: any URL (a database, broker or relay address)
    :returns: the URL safe to print
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # a malformed URL: print nothing of it
        return "<unreadable URL>"
    if not password:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def _read(cls: type[_D], env: _Env, **given: Any) -> _D:
    """Build ``cls`` from the environment: each field made with :func:`_env` is read
    from its variable by the reader of its type; ``given`` fills the others.

    :raises ConfigurationError: naming the variable whose value cannot be used
    """
    values = dict(given)
    for item in fields(cls):
        name = item.metadata.get("env")
        if name is not None:
            values[item.name] = env.read(name, str(item.type), item.default)
    return cls(**values)


def _normalise_db_url(url: str) -> str:
    """Map the conventional ``postgresql://`` to SQLAlchemy's psycopg 3 dialect."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class _Env:
    """Typed reads of environment variables, each error naming the variable.

    An empty variable counts as unset: the field keeps its default.
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def read(self, name: str, kind: str, default: Any) -> Any:
        """The value of ``name`` as the field's type ``kind`` (its annotation's text)."""
        raw = self._environ.get(name, "")
        if raw == "":
            return default
        parse = _PARSERS.get(kind)
        if parse is None:  # a field of a type nobody taught this module to read
            raise TypeError(f"no reader for {name}'s type {kind}")
        return parse(name, raw)

    def text(self, name: str, default: str) -> str:
        return self._environ.get(name, default)


def _flag(name: str, raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def _integer(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number") from exc


def _number(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from exc


_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def _rate(name: str, raw: str) -> Rate:
    found = _RATE.fullmatch(raw)
    if found is None or int(found[1]) < 1 or int(found[2]) < 1:
        raise ConfigurationError(f"{name}={raw!r} is not a rate (LIMIT/SECONDS, e.g. 20/600)")
    return Rate(limit=int(found[1]), window=int(found[2]))


def _text(name: str, raw: str) -> str:
    return raw


#: One reader per kind of field, keyed by the annotation's text (annotations are
#: strings here): a field of another type makes from_env() fail at once.
_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "str": _text,
    "str | None": _text,
    "bool": _flag,
    "int": _integer,
    "float": _number,
    "Rate": _rate,
}
