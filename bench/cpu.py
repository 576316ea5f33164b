"""Where a benchmark's CPU went: per process group, from /proc, between two snapshots.

The throughput figure alone does not say why it is what it is. On a 2-core machine
the dispatcher's workers, PostgreSQL, smtp-sink and Redis share the same two cores,
so the CPU each spent per message, and how busy the machine was, tell whether the
rate is bound by CPU or by waiting.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_GROUPS = {
    "postgres": "PostgreSQL",
    "postgres-bg": "PostgreSQL background",
    "smtp-sink": "smtp-sink",
    "smtp-source": "smtp-source",
    "redis-server": "Redis",
}
_ORDER = [
    "workers",
    "PostgreSQL",
    "PostgreSQL background",
    "smtp-sink",
    "smtp-source",
    "Redis",
    "other",
    "ended children",
]


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds used so far by each process, and the machine's busy and total time."""

    by_pid: dict[int, tuple[str, float, float]]  # name, user seconds, system seconds
    busy: float
    total: float
    reaped: tuple[float, float]  # user and system seconds of this process's reaped children


def snapshot() -> Snapshot:
    by_pid: dict[int, tuple[str, float, float]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        name = _postgres_role(stat.parent, text[text.index("(") + 1 : text.rindex(")")])
        fields = text[text.rindex(")") + 2 :].split()
        by_pid[int(stat.parent.name)] = (name, int(fields[11]) / _TICK, int(fields[12]) / _TICK)
    times = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = times[3] + times[4]  # idle and iowait
    own = os.times()
    reaped = (own.children_user, own.children_system)
    return Snapshot(by_pid, (sum(times) - idle) / _TICK, sum(times) / _TICK, reaped)


def _postgres_role(folder: Path, name: str) -> str:
    """PostgreSQL's own processes (checkpointer, WAL writer, autovacuum) apart from the
    backends that run the statements: their work is not per statement."""
    if name != "postgres":
        return name
    try:
        title = (folder / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return name
    background = ("checkpointer", "walwriter", "background writer", "autovacuum")
    return "postgres-bg" if any(word in title for word in background) else name


def report(
    before: Snapshot, after: Snapshot, workers: Collection[int], messages: int, label: str = ""
) -> str:
    """A line with the CPU per message of each group (of it, in the kernel) and how busy
    the machine was."""
    user: defaultdict[str, float] = defaultdict(float)
    system: defaultdict[str, float] = defaultdict(float)
    for pid, (name, user_s, system_s) in after.by_pid.items():
        earlier = before.by_pid.get(pid)
        if earlier is not None and earlier[0] == name:
            user_s, system_s = user_s - earlier[1], system_s - earlier[2]
        group = "workers" if pid in workers else _GROUPS.get(name, "other")
        user[group] += user_s
        system[group] += system_s
    # Children that ended in between (smtp-limit's smtp-source and smtp-sink) left
    # /proc, but their time was added to ours when they were reaped.
    user["ended children"] += after.reaped[0] - before.reaped[0]
    system["ended children"] += after.reaped[1] - before.reaped[1]
    each = 1e6 / messages
    parts = ", ".join(
        f"{g} {(user[g] + system[g]) * each:,.0f} ({system[g] * each:,.0f} kernel)"
        for g in _ORDER
        if (user[g] + system[g]) * each >= 1
    )
    busy = (after.busy - before.busy) / max(after.total - before.total, 1e-9)
    return f"  {label}CPU per message (us): {parts}; machine busy {busy:.0%}"
