"""Both sides of the SMTP connection, per message, in the same run: CPU, syscalls, segments.

Runs one ``bench/throughput.py`` send and, in its steady state, watches the worker
pool processes and smtp-sink for a few seconds; then does the same for
``smtp-limit`` (smtp-source into smtp-sink). For each process group it prints,
per message: CPU (of it in the kernel, from ``/proc/PID/stat``), context switches,
the syscalls that move data or wait (counted in the kernel by ``perf stat``, which
costs the processes almost nothing), and the TCP segments and bytes smtp-sink's
connections took in and sent (``ss -tin``).

    .venv/bin/python bench/relay_profile.py                 # 60,000 messages, 5 s windows
    .venv/bin/python bench/relay_profile.py --py-spy /tmp/worker.svg   # or .txt: raw stacks

The dispatcher's messages in a window are the ledger rows sent meanwhile (folded a
hundred at a time, the same lag at both ends); smtp-limit's are the bytes smtp-sink
took in divided by a message's size (about 1% off). Segments per message are from
the same connections' bytes, so a connection replaced in the window does not skew them.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402

from bench import throughput  # noqa: E402
from dispatcher.config import SendingSettings  # noqa: E402
from tests.support.web import free_port  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")
SYSCALLS = (
    "read", "write", "recvfrom", "sendto", "sendmsg", "poll", "epoll_wait", "epoll_pwait",
    "select", "pselect6", "futex", "clock_gettime", "getpid", "newfstat", "lseek",
)  # fmt: skip
#: What smtp-source puts around its -l bytes, about (see the docstring).
LIMIT_OVERHEAD = 250


@dataclass
class Sample:
    cpu: dict[int, tuple[float, float]]  # pid: user s, system s
    switches: dict[int, int]  # pid: voluntary + involuntary context switches
    at: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=60_000)
    parser.add_argument("--window", type=float, default=5.0, help="seconds watched")
    parser.add_argument("--py-spy", help="also record a worker process into this SVG")
    parser.add_argument("--no-limit", action="store_true", help="skip smtp-limit")
    parser.add_argument("--no-pipelining", dest="pipelining", action="store_false")
    args = parser.parse_args()
    bench_args = argparse.Namespace(
        n=args.n, connections=2, runs=1, batch_size=SendingSettings().batch_size, window=8,
        pipelining=args.pipelining, dkim=None,
    )  # fmt: skip
    size = _dispatch_profiled(bench_args, args)
    if not args.no_limit:
        _limit_profiled(args, size)


def _dispatch_profiled(bench_args: argparse.Namespace, args: argparse.Namespace) -> int:
    result: dict[str, tuple[float, int, float]] = {}
    urls: list[str] = []
    opened = throughput.database

    @contextmanager
    def remembered() -> Iterator[str]:
        with opened() as url:
            urls.append(url)
            yield url

    throughput.database = remembered
    thread = threading.Thread(
        target=lambda: result.update(out=throughput.dispatch_once(bench_args)), daemon=True
    )
    thread.start()
    sink = _wait_for(lambda: _children_named(os.getpid(), "smtp-sink"))[0]
    _wait_for(lambda: _received(sink) > 5_000_000 or None)
    workers = _wait_for(_pool_processes)
    spy = _py_spy(workers[0], args) if args.py_spy else None
    sent = _sent_counter(urls[0])
    groups = {"workers": workers, "smtp-sink": [sink]}
    _watch(groups, sink, args.window, sent, label="dispatcher")
    if spy is not None:
        spy.wait()
    thread.join()
    rate, size, _ = result["out"]
    print(f"dispatcher: {rate:,.0f} msg/s over the whole send, message {size:,} bytes")
    return int(size)


def _sent_counter(url: str) -> Callable[[], float]:
    """Rows sent so far (folded a hundred at a time: the same lag at both ends)."""
    engine = create_engine(url)

    def count() -> float:
        with engine.connect() as connection:
            return float(
                connection.scalar(text("SELECT count(*) FROM deliveries WHERE status = 'sent'"))
                or 0
            )

    return count


def _limit_profiled(args: argparse.Namespace, size: int) -> None:
    port = free_port()
    command = [str(throughput.SMTP_LIMIT), "-n", str(args.n), "-s", "2", "-l", str(size)]
    limit = subprocess.Popen([*command, "-p", str(port)], stdout=subprocess.PIPE, text=True)
    sink = _wait_for(lambda: _children_named(limit.pid, "smtp-sink"))[0]
    source = _wait_for(lambda: _children_named(limit.pid, "smtp-source"))[0]
    _wait_for(lambda: _received(sink) > 5_000_000 or None)
    groups = {"smtp-source": [source], "smtp-sink": [sink]}
    # smtp-source keeps its connections: the bytes smtp-sink took in count the messages.
    _watch(groups, sink, args.window, lambda: _received(sink) / (size + LIMIT_OVERHEAD),
           label="smtp-limit")  # fmt: skip
    out, _ = limit.communicate()
    print(out.strip())


def _watch(
    groups: dict[str, list[int]],
    sink: int,
    seconds: float,
    messages_so_far: Callable[[], float],
    label: str,
) -> None:
    pids = [pid for members in groups.values() for pid in members]
    events = ",".join(
        ["raw_syscalls:sys_enter", *(f"syscalls:sys_enter_{name}" for name in SYSCALLS)]
    )
    perf = subprocess.Popen(
        ["perf", "stat", "--per-thread", "-x", ";", "-e", events,
         "-p", ",".join(map(str, pids)), "--", "sleep", str(seconds)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    first = messages_so_far()
    before = _sample(pids)
    with SocketWatch(sink) as sockets:
        _, perf_out = perf.communicate()
    after = _sample(pids)
    messages = messages_so_far() - first
    span = after.at - before.at
    print(f"{label}: {messages:,.0f} messages in {span:.1f} s ({messages / span:,.0f} msg/s)")
    # perf counted for ``seconds`` of the longer span the messages were counted over.
    counted = messages * min(1.0, seconds / (after.at - before.at))
    counts = _perf_counts(perf_out)
    for group, members in groups.items():
        _print_group(group, members, before, after, counts, messages, counted)
    tcp = sockets.delta()
    # Segments per message from the same connections' bytes, whatever was lost at a close.
    per = tcp["bytes_received"] / messages
    each = {k: v / max(tcp["bytes_received"], 1) * per for k, v in tcp.items()}
    print("  smtp-sink's connections per message: "
          f"segments in {each['segs_in']:.2f} (with data {each['data_segs_in']:.2f}), "
          f"segments out {each['segs_out']:.2f} (with data {each['data_segs_out']:.2f}), "
          f"bytes in {per:,.0f}, bytes out {each['bytes_sent']:.0f}")  # fmt: skip


def _print_group(
    group: str,
    members: list[int],
    before: Sample,
    after: Sample,
    counts: dict[int, dict[str, int]],
    messages: float,
    counted: float,
) -> None:
    """CPU and switches over the whole span, syscalls over perf's part of it."""
    user = sum(after.cpu[p][0] - before.cpu[p][0] for p in members) * 1e6 / messages
    system = sum(after.cpu[p][1] - before.cpu[p][1] for p in members) * 1e6 / messages
    switches = sum(after.switches[p] - before.switches[p] for p in members) / messages
    calls = Counter[str]()
    for pid in members:
        calls.update(counts.get(pid, {}))
    total = calls.pop("raw_syscalls:sys_enter", 0) / counted
    each = ", ".join(
        f"{name.removeprefix('syscalls:sys_enter_')} {count / counted:.2f}"
        for name, count in calls.most_common()
        if count / counted >= 0.01
    )
    print(f"  {group}: CPU {user + system:.0f} us/msg ({system:.0f} kernel), "
          f"{switches:.2f} context switches/msg, syscalls {total:.2f}/msg: {each}")  # fmt: skip


def _sample(pids: list[int]) -> Sample:
    cpu, switches = {}, {}
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu[pid] = (int(fields[11]) / _TICK, int(fields[12]) / _TICK)
        status = Path(f"/proc/{pid}/status").read_text()
        switches[pid] = sum(int(v) for v in re.findall(r"ctxt_switches:\s+(\d+)", status))
    return Sample(cpu, switches, time.monotonic())


class SocketWatch:
    """smtp-sink's connections, sampled often: a connection replaced in the window
    (every SMTP_MESSAGES_PER_CONNECTION messages) counts up to its last sample."""

    KEYS = ("bytes_received", "bytes_sent", "segs_in", "segs_out", "data_segs_in", "data_segs_out")

    def __init__(self, sink: int) -> None:
        self._ports = _listening_ports(sink)
        self.first: dict[str, Counter[str]] = {}
        self.last: dict[str, Counter[str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SocketWatch:
        self.take(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.take()

    def delta(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for key, last in self.last.items():
            first = self.first.get(key, Counter())
            for name in self.KEYS:
                total[name] += last[name] - first[name]
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.take()

    def take(self, first: bool = False) -> None:
        out = subprocess.run(
            ["ss", "-tinH", "state", "established"], capture_output=True, text=True
        ).stdout.splitlines()
        for head, info in zip(out[::2], out[1::2], strict=False):
            local, peer = head.split()[2:4]
            if local.rsplit(":", 1)[-1] not in self._ports:
                continue
            values = Counter({name: int(_field(info, name)) for name in self.KEYS})
            if first:
                self.first[f"{local}-{peer}"] = values
            self.last[f"{local}-{peer}"] = values


def _received(sink: int) -> float:
    """Bytes smtp-sink's open connections took in so far."""
    watch = SocketWatch(sink)
    watch.take(first=True)
    return float(sum(c["bytes_received"] for c in watch.first.values()))


def _field(info: str, key: str) -> str:
    found = re.search(rf"\b{key}:(\d+)", info)
    return found.group(1) if found else "0"


def _listening_ports(pid: int) -> set[str]:
    out = subprocess.run(["ss", "-tlnpH"], capture_output=True, text=True).stdout
    return {
        line.split()[3].rsplit(":", 1)[-1] for line in out.splitlines() if f"pid={pid}," in line
    }


def _perf_counts(text: str) -> dict[int, dict[str, int]]:
    """``perf stat --per-thread -x;`` lines: ``comm-pid;count;;event;...``."""
    counts: dict[int, dict[str, int]] = {}
    for line in text.splitlines():
        parts = line.split(";")
        if len(parts) < 4 or not parts[1].strip().isdigit():
            continue
        pid = int(parts[0].rsplit("-", 1)[1])
        counts.setdefault(pid, {})[parts[3]] = int(parts[1])
    return counts


def _py_spy(pid: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [str(spy), "record", "--native", "-r", "250", "-d", str(int(args.window)),
         "-p", str(pid), "-o", args.py_spy,
         *(["--format", "raw"] if args.py_spy.endswith(".txt") else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _children_named(parent: int, name: str) -> list[int] | None:
    found = [pid for pid, ppid, comm in _processes() if ppid == parent and comm == name]
    return found or None


def _pool_processes() -> list[int] | None:
    """The two busiest children of celery (our child): the pool, not the embedded beat."""
    table = _processes()
    ours = {pid for pid, ppid, _ in table if ppid == os.getpid()}
    children = [pid for pid, ppid, _ in table if ppid in ours and pid not in ours]
    if len(children) < 3:
        return None
    return sorted(children, key=_cpu_seconds)[-2:]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _processes() -> list[tuple[int, int, str]]:
    table = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        table.append((int(stat.parent.name), ppid, comm))
    return table


def _wait_for(probe, timeout: float = 300.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for the benchmark's processes")


if __name__ == "__main__":
    main()
