"""The desk's figures for pages: what each page adds to its context, and the chart helpers.

Pages include ``admin/_figures_*.html`` and add one of these to their context; the
templates draw the charts with the globals installed here (see :mod:`.charts`).
Aggregates only: no page here names a person.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from dispatcher.models import Edition
from dispatcher.office.list_figures import edition_figures, figures_of_list, recent_edition_figures
from dispatcher.web.routes.admin.charts import bar_rows, edition_rows, thousands, week_columns
from dispatcher.web.templating import environment
from subscribers.orm import utcnow

RECENT_EDITIONS = 6


def edition_context(session: Session, edition: Edition) -> dict[str, Any]:
    """``edition_figures``: the edition's outcome (None before it goes out)."""
    return {"edition_figures": edition_figures(session, edition)}


def list_context(session: Session, list_id: int) -> dict[str, Any]:
    """``list_figures`` (counts and weeks) and ``editions_figures`` (its latest editions)."""
    return {
        "list_figures": figures_of_list(session, list_id, utcnow()),
        "editions_figures": recent_edition_figures(session, list_id, RECENT_EDITIONS),
    }


def desk_context(session: Session) -> dict[str, Any]:
    """``editions_figures``: the latest editions that went out, of every newsletter."""
    return {"editions_figures": recent_edition_figures(session, None, RECENT_EDITIONS)}


def install_charts() -> None:
    """The chart helpers the figures' templates call (idempotent)."""
    env = environment()
    env.globals["bar_rows"] = bar_rows
    env.globals["week_columns"] = week_columns
    env.globals["edition_rows"] = edition_rows
    env.filters["thousands"] = thousands


install_charts()
