"""Reach's figures in ``/metrics``: clicks, web-version views and unsubscribes per edition.

Read from the database on each scrape, like the rest of ``/metrics``
(:mod:`dispatcher.monitoring.prometheus`), and labelled by edition id. The label set stays
bounded: only the :data:`EDITIONS` newest editions that went out are shown.

- ``dispatcher_edition_clicks{edition_id}``: clicks through the counting redirect
- ``dispatcher_edition_web_views{edition_id}``: views of the web version
- ``dispatcher_edition_unsubscribes_after{edition_id}``: unsubscribes between the
  edition's send and the next edition's
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.office.reach import EditionReach, recent_reach

EDITIONS = 20

_FIGURES = (
    ("dispatcher_edition_clicks", "clicks", "Clicks on the edition's links (no one named)."),
    ("dispatcher_edition_web_views", "views", "Views of the edition's web version."),
    ("dispatcher_edition_unsubscribes_after", "unsubscribes_after",
     "Unsubscribes between the edition's send and the next edition's."),
)  # fmt: skip


class ReachCollector(Collector):
    """Reads the reach counters of the newest editions on every scrape."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[Metric]:
        with self._sessions() as session:
            editions = recent_reach(session, EDITIONS)
        yield from reach_metrics(editions)


def reach_metrics(editions: list[EditionReach]) -> Iterator[Metric]:
    """One gauge family per figure, a sample per edition."""
    for name, attribute, documentation in _FIGURES:
        family = GaugeMetricFamily(name, documentation, labels=["edition_id"])
        for edition in editions:
            family.add_metric([str(edition.edition_id)], getattr(edition, attribute) or 0)
        yield family
