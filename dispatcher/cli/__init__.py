"""The ``dispatcher`` command: thin commands over the same services as the web app."""

from __future__ import annotations

from dispatcher.cli.main import main

__all__ = ["main"]
