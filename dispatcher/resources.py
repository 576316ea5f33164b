"""Where the package's data lives: email and web templates, static files, migrations.

The folders stay at the repository's top (``templates/``, ``migrations/``), as the design
lays it out; the build maps them into the package as ``dispatcher._templates`` and
``dispatcher._migrations`` (``package-dir`` in pyproject.toml), so an installed wheel finds
them through :mod:`importlib.resources` from any directory. Every caller asks here; no
module finds its data through ``__file__``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = [
    "catalogue_file",
    "migrations_dir",
    "static_dir",
    "templates_dir",
    "web_templates_dir",
]

#: The repository's top, when the code runs from a source checkout.
_CHECKOUT = Path(__file__).resolve().parents[1]

# Paths handed out by as_file() stay valid for the life of the process.
_OPEN = contextlib.ExitStack()
atexit.register(_OPEN.close)


@functools.cache
def _folder(package: str, folder: str) -> Path:
    source = _CHECKOUT / folder
    if (_CHECKOUT / "pyproject.toml").is_file() and source.is_dir():
        # Code running from a source checkout (editable install, PYTHONPATH, a second git
        # worktree) uses that checkout's folders: an editable install's finder would map
        # the package's data to the checkout it was installed from, whichever runs.
        return source
    # Jinja2, Starlette and Alembic want a real folder. For a package installed as files
    # (how pip installs a wheel) as_file() gives the folder itself.
    return _OPEN.enter_context(resources.as_file(resources.files(package)))


def templates_dir() -> Path:
    """The templates folder: ``email/`` (MJML and text) and ``web/`` (pages, static files)."""
    return _folder("dispatcher._templates", "templates")


def web_templates_dir() -> Path:
    """The web pages' templates (``templates/web``)."""
    return templates_dir() / "web"


def static_dir() -> Path:
    """The files served under ``/static`` (``templates/web/static``)."""
    return web_templates_dir() / "static"


def migrations_dir() -> Path:
    """Alembic's script folder: ``env.py``, ``script.py.mako`` and ``versions/``."""
    return _folder("dispatcher._migrations", "migrations")


def catalogue_file(language: str) -> Traversable:
    """The gettext catalogue of the web's texts in ``language`` (``dispatcher/locale``).

    The ``.po`` files are package data of ``dispatcher`` itself, so the package's own
    folder holds them in a checkout and in an installed wheel alike.
    """
    return resources.files("dispatcher") / "locale" / language / "LC_MESSAGES" / "messages.po"
