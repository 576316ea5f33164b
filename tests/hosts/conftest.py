"""Fixtures for the several-hosts test: three machines in network namespaces, and a send.

- ``cluster``: the bridge, the test's own PostgreSQL, Redis and recording relay on it,
  and three hosts (``tests.support.hosts``): ``ops`` runs the one beat, ``w1`` and
  ``w2`` a prefork pool of two each, every one with a journal folder of its own.
  Everything (namespaces, links, processes, folders) is removed afterwards, whatever
  happened; what an earlier run that crashed left behind is removed first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.db import create_db_engine, create_session_factory
from dispatcher.worker.app import create_celery
from tests.support.database import migrate
from tests.support.hosts import Host, HostBeat, HostWorker, Network, Services, available, lab
from tests.support.sending import quick_policy

#: Quick timers: the lease of a lost host's claim runs out within seconds.
POLICY = quick_policy(batch_size=500, lease_seconds=8, redispatch_after=5)
#: Pool processes per worker host: each holds one claim at a time.
CONCURRENCY = 2


@dataclass
class Cluster:
    network: Network
    services: Services
    settings: Settings
    sessions: sessionmaker[Session]
    workers: dict[str, HostWorker]
    hosts: dict[str, Host]

    @property
    def sink_file(self) -> Path:
        return self.services.sink_file

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{w.log()[-1500:]}" for name, w in self.workers.items())


def on_host(settings: Settings, host: Host) -> Settings:
    """The settings a process on ``host`` runs with: its own journal folder."""
    sending = dataclasses.replace(settings.sending, journal_dir=str(host.journal))
    return settings.with_overrides(sending=sending)


@pytest.fixture
def cluster(make_settings: Callable[..., Settings]) -> Iterator[Cluster]:
    if (reason := available()) is not None:
        pytest.skip(reason)
    with lab() as (network, services):
        migrate(services.database_url)
        engine = create_db_engine(services.database_url)
        settings = make_settings(
            database_url=services.database_url,
            broker_url=services.broker_url,
            smtp_url=services.smtp_url,
            sending=POLICY,
        )
        create_celery(settings)  # this process enqueues as `dispatcher send --now` does
        hosts = {name: network.add_host(name) for name in ("ops", "w1", "w2")}
        beat = HostBeat(hosts["ops"], on_host(settings, hosts["ops"]))
        workers = {
            name: HostWorker(hosts[name], on_host(settings, hosts[name]), concurrency=CONCURRENCY)
            for name in ("w1", "w2")
        }
        try:
            with ThreadPoolExecutor() as starting:  # three machines boot side by side
                list(starting.map(lambda process: process.start(), (beat, *workers.values())))
            yield Cluster(
                network, services, settings, create_session_factory(engine), workers, hosts
            )
        finally:
            network.close()  # every process on every host SIGKILLed: nothing to wait for
            for process in (beat, *workers.values()):
                process.stop()
            engine.dispose()
