"""Schema migrations with Alembic, for ``dispatcher db upgrade`` and for tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from dispatcher.resources import migrations_dir


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration for our migrations folder and a database URL."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(database_url), revision)
