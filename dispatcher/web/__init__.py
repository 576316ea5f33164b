"""The web app: public pages, the office's admin, the operators' console, API and metrics."""

from __future__ import annotations

from dispatcher.web.app import create_app

__all__ = ["create_app"]
