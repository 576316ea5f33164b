"""The outcome journal's file: what a reader takes for an orphan, and what it reads back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dispatcher.sends import journal
from dispatcher.sends.journal import Entry, Journal

DB = journal.fingerprint("postgresql+psycopg://postgres:secret@127.0.0.1/ledger")
REPO = Path(__file__).resolve().parents[2]


def _entry(delivery_id: int) -> Entry:
    return Entry(delivery_id, "sent", 250, "2.0.0 Ok: queued as Q1", "<m@x>", None, False,
                 "2026-12-05 09:00:00.000000+00:00", True)  # fmt: skip


def _orphans(folder: Path, database: str = DB) -> list[journal.Orphan]:
    found = []
    for orphan in journal.orphans(folder, database):
        found.append(orphan)
        orphan.path.unlink()  # as the recovery does once the orphan is folded
    return found


def test_a_live_writers_journal_is_not_an_orphan_and_a_closed_one_is(tmp_path: Path) -> None:
    writer = Journal(tmp_path, "host:1:abc", DB)
    writer.append(_entry(1))
    writer.append(_entry(2))
    assert _orphans(tmp_path) == []
    writer.close()
    [orphan] = _orphans(tmp_path)
    assert orphan.owner == "host:1:abc"
    assert orphan.entries == [_entry(1), _entry(2)]
    assert list(tmp_path.iterdir()) == []


def test_a_discarded_journal_leaves_nothing_behind(tmp_path: Path) -> None:
    writer = Journal(tmp_path, "host:1:abc", DB)
    writer.append(_entry(1))
    writer.discard()
    assert list(tmp_path.iterdir()) == [] and _orphans(tmp_path) == []


def test_a_line_cut_short_by_a_kill_was_never_written(tmp_path: Path) -> None:
    writer = Journal(tmp_path, "host:1:abc", DB)
    writer.append(_entry(1))
    writer.close()
    with writer.path.open("ab") as file:
        file.write(b'[2, "sent", 250, "2.0.0 Ok: que')  # the write a SIGKILL stopped
    [orphan] = _orphans(tmp_path)
    assert orphan.entries == [_entry(1)]


def test_a_journal_of_another_database_is_left_alone(tmp_path: Path) -> None:
    writer = Journal(tmp_path, "host:1:abc", journal.fingerprint("sqlite:///other.sqlite"))
    writer.append(_entry(1))
    writer.close()
    assert _orphans(tmp_path) == []
    assert writer.path.exists()


def test_an_unreadable_journal_is_kept_aside_once(tmp_path: Path) -> None:
    writer = Journal(tmp_path, "host:1:abc", DB)
    writer.close()
    with writer.path.open("ab") as file:
        file.write(b'["not", "an", "entry"]\n')
    assert _orphans(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["host_1_abc.journal.unreadable"]
    assert _orphans(tmp_path) == []


def test_an_unborn_journal_of_a_dead_writer_is_removed_once_old(tmp_path: Path) -> None:
    unborn = tmp_path / "host_1_abc.journal.new"
    unborn.write_bytes(b'{"journal": 1, "ow')
    assert _orphans(tmp_path) == []
    assert unborn.exists()  # its writer may be about to lock it
    old = time.time() - journal.UNBORN_AFTER_SECONDS - 1
    os.utime(unborn, (old, old))
    assert _orphans(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_a_journal_that_cannot_be_created_says_where(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(journal.JournalError, match="not-a-folder"):
        Journal(blocker, "host:1:abc", DB)


_WRITER = """
import sys, time
from pathlib import Path
from dispatcher.sends.journal import Entry, Journal
writer = Journal(Path(sys.argv[1]), "host:2:def", sys.argv[2])
for i in range(1, 4):
    writer.append(Entry(i, "sent", 250, "ok", None, None, False, None, True))
print("written", flush=True)
time.sleep(60)
"""


def test_the_journal_of_a_killed_process_is_read_whole(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path), DB],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "written"
        assert _orphans(tmp_path) == []  # alive: its lock keeps readers off
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        [orphan] = _orphans(tmp_path)
        assert [e.delivery_id for e in orphan.entries] == [1, 2, 3]
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
