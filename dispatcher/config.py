"""Settings: one typed, frozen object built at the edge and passed down.

Nothing else in the project reads ``os.environ``. Every field says its unit and
default; ``settings.example.toml`` is the commented list of the environment names.
Tests build :class:`Settings` directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dispatcher.errors import ConfigurationError

DEFAULT_DATA_DIR = Path("var")
#: Used only when DISPATCHER_DEMO=1; any other run without SECRET_KEY is refused.
DEMO_SECRET_KEY = "demo-only-secret-key-never-use-in-production"  # nosec B105 - public by design


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand messages to the relay.

    ``url`` is ``smtp://[user:pass@]host:port`` (plain, STARTTLS when ``starttls``),
    ``smtps://...`` (TLS from the start) or ``file:///path`` (outbox folder).
    """

    url: str | None = None
    starttls: bool = False  # SMTP_STARTTLS: require STARTTLS before MAIL
    helo_name: str = "localhost"  # SMTP_HELO: name given in EHLO
    connect_timeout: float = 10.0  # seconds to open the TCP connection and read the greeting
    command_timeout: float = 30.0  # seconds for each EHLO/MAIL/RCPT/DATA reply
    data_timeout: float = 60.0  # seconds to write a message's content
    final_timeout: float = 120.0  # seconds for the reply after the final dot (silence = uncertain)
    messages_per_connection: int = 1000  # reconnect after this many messages
    pipelining: bool = True  # SMTP_PIPELINING: use RFC 2920 when the server offers it

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

    batch_size: int = 500  # SEND_BATCH_SIZE: ledger rows per batch task
    dispatch_window: int = 8  # SEND_WINDOW: batch tasks of one send in the broker at once
    lease_seconds: float = 300.0  # SEND_LEASE: a claim not renewed for this long is dead
    redispatch_after: float = 60.0  # SEND_REDISPATCH_AFTER: re-enqueue a batch not picked up
    reconcile_interval: float = 5.0  # RECONCILE_INTERVAL: seconds between beat reconciler runs
    retry_base: float = 60.0  # RETRY_BASE: first backoff after a 4xx, seconds; doubles
    retry_max_interval: float = 3600.0  # RETRY_MAX_INTERVAL: backoff cap, seconds
    retry_window: float = 48 * 3600.0  # RETRY_WINDOW: after this, a deferred row fails as expired
    relay_backoff_base: float = 15.0  # RELAY_BACKOFF_BASE: hold after the relay was unreachable
    relay_backoff_max: float = 600.0  # RELAY_BACKOFF_MAX: cap of that hold, seconds
    # UNCERTAIN_POLICY: what to do with a message that may or may not have reached the
    # relay (no reply after the final dot, or a worker that died with it in flight).
    # "resend" (the default, as Postfix does after a timeout at the dot): try again;
    # the copy keeps its Message-ID, so clients can fold it into the first, and the
    # row stays flagged in_doubt. "keep": never resend; the row stays "uncertain".
    uncertain_policy: str = "resend"
    ledger_synchronous_commit: bool = False  # LEDGER_SYNC_COMMIT: PostgreSQL fsync per fold
    # SEND_JOURNAL_DIR: where each worker process journals its outcomes before they reach
    # the ledger. A local folder shared by every worker process of the machine (and its
    # beat, if it runs there), kept across restarts: a dead process's successor folds
    # what it left there.
    journal_dir: str = str(DEFAULT_DATA_DIR / "journal")
    redirect_all_to: str | None = None  # REDIRECT_ALL_TO: dev switch, every message to this address
    auto_pause_window: int = 200  # AUTO_PAUSE_WINDOW: outcomes looked at; 0 turns it off
    auto_pause_ratio: float = 0.2  # AUTO_PAUSE_RATIO: share not delivered that pauses the send
    rate_per_second: float = 0.0  # RATE_PER_SECOND: default global limit (0: none)
    rate_per_hour: float = 0.0  # RATE_PER_HOUR: default global limit (0: none)

    def __post_init__(self) -> None:
        if self.uncertain_policy not in ("keep", "resend"):
            raise ConfigurationError("UNCERTAIN_POLICY must be 'keep' or 'resend'")
        if self.batch_size < 1 or self.dispatch_window < 1:
            raise ConfigurationError("SEND_BATCH_SIZE and SEND_WINDOW must be at least 1")


@dataclass(frozen=True)
class DkimSettings:
    """DKIM signing in the worker; off unless all three are set."""

    domain: str | None = None  # DKIM_DOMAIN: the d= domain (aligned with From for DMARC)
    selector: str | None = None  # DKIM_SELECTOR: the s= selector
    key_file: str | None = None  # DKIM_KEY_FILE: PEM private key, RSA-2048 or Ed25519

    @property
    def enabled(self) -> bool:
        return bool(self.domain and self.selector and self.key_file)


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know, read once at its edge."""

    database_url: str = f"sqlite:///{DEFAULT_DATA_DIR}/dispatcher.sqlite"
    broker_url: str = f"sqla+sqlite:///{DEFAULT_DATA_DIR}/broker.sqlite"
    broker_key_prefix: str = ""  # BROKER_KEY_PREFIX: Redis key prefix (tests use one per run)
    redis_url: str | None = None  # REDIS_URL: rate limits and heartbeats; default BROKER_URL
    public_url: str = "http://127.0.0.1:8000"  # PUBLIC_URL: base of links in emails
    secret_keys: tuple[str, ...] = ()  # SECRET_KEY then SECRET_KEY_FALLBACKS (comma-separated)
    bounce_domain: str | None = None  # BOUNCE_DOMAIN: VERP domain; default the From domain
    demo: bool = False  # DISPATCHER_DEMO=1: allows the built-in secret key
    ledger_retention_days: int = 365  # LEDGER_RETENTION_DAYS: personal data kept in the ledger
    soft_bounce_threshold: int = 3  # SOFT_BOUNCE_THRESHOLD: soft bounces before "bounced"
    # BOUNCE_MAIL_DIR: where `bounces serve` keeps mail for a person, one .eml per message:
    # postmaster/ and abuse/ (mail to those addresses at the bounce domain) and quarantine/
    # (returned mail it could not read). `dispatcher bounces mail` lists them.
    bounce_mail_dir: str = str(DEFAULT_DATA_DIR / "bounces")
    bounce_folder_max_messages: int = 10_000  # BOUNCE_FOLDER_MAX_MESSAGES: per folder
    bounce_folder_max_mb: int = 200  # BOUNCE_FOLDER_MAX_MB: per folder, MiB
    require_approval: bool = True  # REQUIRE_APPROVAL=0 lets a one-person office skip approval
    heartbeat_seconds: float = 5.0  # HEARTBEAT_SECONDS: how often workers report to Redis
    metrics_token: str | None = None  # METRICS_TOKEN: bearer token for /metrics from afar
    api_token: str | None = None  # API_TOKEN: bearer token for the read-only /api/
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    sending: SendingSettings = field(default_factory=SendingSettings)
    dkim: DkimSettings = field(default_factory=DkimSettings)

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
        base = cls()
        return cls(
            database_url=_normalise_db_url(env.text("DATABASE_URL", base.database_url)),
            broker_url=env.text("BROKER_URL", base.broker_url),
            broker_key_prefix=env.text("BROKER_KEY_PREFIX", ""),
            redis_url=env.text("REDIS_URL", "") or None,
            public_url=env.text("PUBLIC_URL", base.public_url).rstrip("/"),
            secret_keys=tuple(k.strip() for k in keys if k.strip()),
            bounce_domain=env.text("BOUNCE_DOMAIN", "") or None,
            demo=env.flag("DISPATCHER_DEMO", False),
            ledger_retention_days=env.integer("LEDGER_RETENTION_DAYS", base.ledger_retention_days),
            soft_bounce_threshold=env.integer("SOFT_BOUNCE_THRESHOLD", base.soft_bounce_threshold),
            bounce_mail_dir=env.text("BOUNCE_MAIL_DIR", "") or base.bounce_mail_dir,
            bounce_folder_max_messages=env.integer(
                "BOUNCE_FOLDER_MAX_MESSAGES", base.bounce_folder_max_messages
            ),
            bounce_folder_max_mb=env.integer("BOUNCE_FOLDER_MAX_MB", base.bounce_folder_max_mb),
            require_approval=env.flag("REQUIRE_APPROVAL", base.require_approval),
            heartbeat_seconds=env.number("HEARTBEAT_SECONDS", base.heartbeat_seconds),
            metrics_token=env.text("METRICS_TOKEN", "") or None,
            api_token=env.text("API_TOKEN", "") or None,
            smtp=_smtp_from_env(env),
            sending=_sending_from_env(env),
            dkim=DkimSettings(
                domain=env.text("DKIM_DOMAIN", "") or None,
                selector=env.text("DKIM_SELECTOR", "") or None,
                key_file=env.text("DKIM_KEY_FILE", "") or None,
            ),
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


def _smtp_from_env(env: _Env) -> SmtpSettings:
    d = SmtpSettings()
    return SmtpSettings(
        url=env.text("SMTP_URL", "") or None,
        starttls=env.flag("SMTP_STARTTLS", d.starttls),
        helo_name=env.text("SMTP_HELO", d.helo_name),
        connect_timeout=env.number("SMTP_CONNECT_TIMEOUT", d.connect_timeout),
        command_timeout=env.number("SMTP_COMMAND_TIMEOUT", d.command_timeout),
        data_timeout=env.number("SMTP_DATA_TIMEOUT", d.data_timeout),
        final_timeout=env.number("SMTP_FINAL_TIMEOUT", d.final_timeout),
        messages_per_connection=env.integer(
            "SMTP_MESSAGES_PER_CONNECTION", d.messages_per_connection
        ),
        pipelining=env.flag("SMTP_PIPELINING", d.pipelining),
    )


def _sending_from_env(env: _Env) -> SendingSettings:
    d = SendingSettings()
    return SendingSettings(
        batch_size=env.integer("SEND_BATCH_SIZE", d.batch_size),
        dispatch_window=env.integer("SEND_WINDOW", d.dispatch_window),
        lease_seconds=env.number("SEND_LEASE", d.lease_seconds),
        redispatch_after=env.number("SEND_REDISPATCH_AFTER", d.redispatch_after),
        reconcile_interval=env.number("RECONCILE_INTERVAL", d.reconcile_interval),
        retry_base=env.number("RETRY_BASE", d.retry_base),
        retry_max_interval=env.number("RETRY_MAX_INTERVAL", d.retry_max_interval),
        retry_window=env.number("RETRY_WINDOW", d.retry_window),
        relay_backoff_base=env.number("RELAY_BACKOFF_BASE", d.relay_backoff_base),
        relay_backoff_max=env.number("RELAY_BACKOFF_MAX", d.relay_backoff_max),
        uncertain_policy=env.text("UNCERTAIN_POLICY", d.uncertain_policy),
        ledger_synchronous_commit=env.flag("LEDGER_SYNC_COMMIT", d.ledger_synchronous_commit),
        journal_dir=env.text("SEND_JOURNAL_DIR", d.journal_dir) or d.journal_dir,
        redirect_all_to=env.text("REDIRECT_ALL_TO", "") or None,
        auto_pause_window=env.integer("AUTO_PAUSE_WINDOW", d.auto_pause_window),
        auto_pause_ratio=env.number("AUTO_PAUSE_RATIO", d.auto_pause_ratio),
        rate_per_second=env.number("RATE_PER_SECOND", d.rate_per_second),
        rate_per_hour=env.number("RATE_PER_HOUR", d.rate_per_hour),
    )


def _normalise_db_url(url: str) -> str:
    """Map the conventional ``postgresql://`` to SQLAlchemy's psycopg 3 dialect."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class _Env:
    """Typed reads of environment variables, each error naming the variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str) -> str:
        return self._environ.get(name, default)

    def flag(self, name: str, default: bool) -> bool:
        raw = self._environ.get(name)
        if raw is None or raw == "":
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigurationError(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")

    def integer(self, name: str, default: int) -> int:
        raw = self._environ.get(name)
        try:
            return default if raw is None or raw == "" else int(raw)
        except ValueError as exc:
            raise ConfigurationError(f"{name}={raw!r} is not a whole number") from exc

    def number(self, name: str, default: float) -> float:
        raw = self._environ.get(name)
        try:
            return default if raw is None or raw == "" else float(raw)
        except ValueError as exc:
            raise ConfigurationError(f"{name}={raw!r} is not a number") from exc
