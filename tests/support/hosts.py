"""Several machines on this one: network namespaces on a bridge, services the hosts reach.

The several-hosts test (``tests/hosts/``) needs worker machines that can be lost
or cut off from the network one at a time. Each host here is a network namespace
(``ip netns``) with a hostname of its own (a UTS namespace, so claim owners and
Celery node names say which host they are) and one veth pair whose other end is a
port of a bridge in the main namespace. The bridge holds the services' address,
:data:`SERVICES` (10.77.0.1); hosts are 10.77.0.2, .3, ... Services listening on
127.0.0.1 cannot be reached from a namespace, so the test runs its own:

- PostgreSQL: a cluster of its own (initdb, fsync off) listening on 127.0.0.1 and
  the bridge, trusting the hosts' subnet;
- Redis: ``redis-server`` on both addresses, nothing kept on disk;
- the relay: :mod:`tests.support.recording_sink` in its own process, on the bridge.

Cutting a host off is its bridge port going down (the cable pulled: connections
stall, nothing is reset); losing it is every process in its namespace SIGKILLed
and its journal folder deleted.

Everything has a fixed name under :data:`PREFIX` and a fixed folder, :data:`ROOT`,
so that :func:`clean_leftovers` can remove what an earlier run that crashed left
behind (namespaces and their processes, links, servers) before a new run starts.
Two runs on one machine at once would therefore collide: the hosts test is run
by one ``make test-hosts`` at a time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from dispatcher.config import Settings
from tests.support.services import PG_BIN
from tests.support.web import free_port
from tests.support.worker import REPO, WorkerProcess

PREFIX = "nlh-"
BRIDGE = f"{PREFIX}br"
SUBNET = "10.77.0"
SERVICES = f"{SUBNET}.1"
ROOT = Path(tempfile.gettempdir()) / "nlh-hosts"
#: What the cleaner looks for in a leftover process's command line before it kills it.
_MARKERS = (b"redis-server", b"recording_sink")


def _ip(*args: str, check: bool = True) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def available() -> str | None:
    """Why the hosts cannot be built here (None: they can): root and ``ip netns`` are needed."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is missing"
    return None


@dataclass
class Host:
    """One machine: a namespace, its address, and its own folder (journal, logs)."""

    name: str
    address: str
    folder: Path

    @property
    def namespace(self) -> str:
        return f"{PREFIX}{self.name}"

    @property
    def port(self) -> str:
        """Its bridge port in the main namespace: the cable."""
        return f"{PREFIX}{self.name}"

    @property
    def journal(self) -> Path:
        return self.folder / "journal"

    def pids(self) -> list[int]:
        return [int(pid) for pid in _ip("netns", "pids", self.namespace, check=False).split()]

    def run_here(self, args: list[str]) -> list[str]:
        """``args`` as run on this host: in its namespace, under its own hostname."""
        return [
            "ip", "netns", "exec", self.namespace, "unshare", "--uts", "--",
            "sh", "-c", 'hostname "$0" && exec "$@"', self.name, *args,
        ]  # fmt: skip


@dataclass
class Network:
    """The bridge and the hosts on it; :meth:`close` removes them all."""

    hosts: list[Host] = field(default_factory=list)

    def open(self) -> Network:
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{SERVICES}/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        return self

    def add_host(self, name: str) -> Host:
        host = Host(name, f"{SUBNET}.{len(self.hosts) + 2}", ROOT / "hosts" / name)
        host.journal.mkdir(parents=True, exist_ok=True)
        self.hosts.append(host)
        inside = f"{host.port}-p"
        _ip("netns", "add", host.namespace)
        _ip("link", "add", host.port, "type", "veth", "peer", "name", inside)
        _ip("link", "set", host.port, "master", BRIDGE)
        _ip("link", "set", host.port, "up")
        _ip("link", "set", inside, "netns", host.namespace)
        _ip("-n", host.namespace, "link", "set", inside, "name", "eth0")
        _ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
        _ip("-n", host.namespace, "link", "set", "eth0", "up")
        _ip("-n", host.namespace, "link", "set", "lo", "up")
        return host

    def cut(self, host: Host) -> None:
        """Pull the host's cable: its packets go nowhere, its connections stall."""
        _ip("link", "set", host.port, "down")

    def mend(self, host: Host) -> None:
        _ip("link", "set", host.port, "up")

    def lose(self, host: Host) -> None:
        """The machine is gone: every process on it SIGKILLed, its journal folder deleted."""
        _kill_namespace(host.namespace)
        shutil.rmtree(host.journal)

    def close(self) -> None:
        for host in self.hosts:
            _kill_namespace(host.namespace)
            _ip("netns", "del", host.namespace, check=False)
        self.hosts.clear()
        _ip("link", "del", BRIDGE, check=False)


def _kill_namespace(namespace: str) -> None:
    """SIGKILL every process in ``namespace`` and wait until none is left."""
    for _ in range(100):
        pids = _ip("netns", "pids", namespace, check=False).split()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.05)
    raise RuntimeError(f"processes of {namespace} would not die")


def clean_leftovers() -> None:
    """Remove what an earlier run that crashed left: namespaces, links, servers, folders."""
    for line in _ip("netns", "list", check=False).splitlines():
        name = line.split(" ")[0]
        if name.startswith(PREFIX):
            _kill_namespace(name)
            _ip("netns", "del", name, check=False)
    for line in _ip("-o", "link", "show", check=False).splitlines():
        link = line.split(":")[1].strip().split("@")[0]
        if link.startswith(PREFIX):
            _ip("link", "del", link, check=False)
    for pid_file in ROOT.glob("*.pid"):
        _kill_marked(int(pid_file.read_text()))
    if (ROOT / "pg" / "data" / "postmaster.pid").exists():
        _pg_ctl("stop", "-m", "immediate", check=False)
    shutil.rmtree(ROOT, ignore_errors=True)


def _kill_marked(pid: int) -> None:
    """SIGKILL ``pid`` if it is still one of ours (a server this module started)."""
    with contextlib.suppress(OSError):
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        if any(marker in command for marker in _MARKERS):
            os.kill(pid, signal.SIGKILL)


def _pg_ctl(*args: str, check: bool = True) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(ROOT / "pg" / "data"),
         *args],
        capture_output=True, check=check,
    )  # fmt: skip


class Services:
    """PostgreSQL, Redis and the recording relay, on 127.0.0.1 and the bridge's address."""

    def __init__(self) -> None:
        self.pg_port, self.redis_port = free_port(), free_port()
        self.sink_file = ROOT / "sink.txt"
        self.sink_port = 0
        self._sink: subprocess.Popen[bytes] | None = None
        self._processes: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@{SERVICES}:{self.pg_port}/postgres"

    @property
    def broker_url(self) -> str:
        return f"redis://{SERVICES}:{self.redis_port}/0"

    @property
    def smtp_url(self) -> str:
        return f"smtp://{SERVICES}:{self.sink_port}"

    def start(self) -> Services:
        self._start_postgres()
        self._spawn(
            "redis",
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", SERVICES,
             "--protected-mode", "no", "--save", "", "--appendonly", "no", "--daemonize", "no"],
        )  # fmt: skip
        sink = self._spawn(
            "sink",
            [sys.executable, "-m", "tests.support.recording_sink", SERVICES, str(self.sink_file)],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        assert sink.stdout is not None
        self._sink = sink
        self.sink_port = int(sink.stdout.readline() or b"0")
        if not self.sink_port:
            raise RuntimeError(f"the sink did not start: {(ROOT / 'sink.log').read_text()}")
        return self

    def slow_relay(self, slow: bool) -> None:
        """Make the relay answer each final dot late (``SLOW_DOT_SECONDS``), or quick again."""
        assert self._sink is not None
        self._sink.send_signal(signal.SIGUSR1 if slow else signal.SIGUSR2)

    def _start_postgres(self) -> None:
        data = ROOT / "pg" / "data"
        data.parent.mkdir(parents=True)
        shutil.chown(data.parent, "postgres")
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(data),
             "-A", "trust", "-U", "postgres"],
            capture_output=True, check=True,
        )  # fmt: skip
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 trust\n")
        options = (
            f"-p {self.pg_port} -c listen_addresses=127.0.0.1,{SERVICES} -k {data.parent} "
            "-c fsync=off -c max_connections=200"
        )
        _pg_ctl("-o", options, "-l", str(data.parent / "log"), "-w", "start")

    def _spawn(
        self, name: str, args: list[str], stdout: int | None = None
    ) -> subprocess.Popen[bytes]:
        log = (ROOT / f"{name}.log").open("ab")
        self._logs.append(log)
        process = subprocess.Popen(
            args, cwd=REPO, stdout=stdout or log, stderr=log, start_new_session=True
        )
        (ROOT / f"{name}.pid").write_text(str(process.pid))
        self._processes.append(process)
        _wait_port(self.redis_port if name == "redis" else None)
        return process

    def stop(self) -> None:
        for process in self._processes:
            process.kill()
            process.wait()
        for log in self._logs:
            log.close()
        _pg_ctl("stop", "-m", "immediate", check=False)


def _wait_port(port: int | None, timeout: float = 15) -> None:
    import socket

    if port is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((SERVICES, port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {SERVICES}:{port}")


class HostWorker(WorkerProcess):
    """``celery -A worker worker`` (prefork, no beat) running on ``host``."""

    def __init__(self, host: Host, settings: Settings, *, concurrency: int = 2) -> None:
        super().__init__(settings, host.folder, concurrency=concurrency, beat=False, name=host.name)
        self._args = host.run_here(self._args)


class HostBeat(WorkerProcess):
    """``celery -A worker beat`` alone on ``host``: the one beat, on a machine of its own."""

    def __init__(self, host: Host, settings: Settings) -> None:
        super().__init__(settings, host.folder, beat=False, name=host.name)
        self.log_path = host.folder / "beat.log"
        schedule = str(host.folder / "beat-schedule")
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker",
            "beat",
            "-s",
            schedule,
            "-l",
            "INFO",
        ]
        self._args = host.run_here(command)

    def start(self, timeout: float = 60) -> HostBeat:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self._args, cwd=REPO, env=self._env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while b"beat: Starting" not in self.log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the beat did not start: {self.log()}")
            time.sleep(0.1)
        return self


@contextlib.contextmanager
def lab() -> Iterator[tuple[Network, Services]]:
    """The bridge and the services on it (hosts are added by the caller); all removed after."""
    clean_leftovers()
    ROOT.mkdir(parents=True)
    network, services = Network(), Services()
    try:
        network.open()
        services.start()
        yield network, services
    finally:
        network.close()
        services.stop()
        clean_leftovers()
