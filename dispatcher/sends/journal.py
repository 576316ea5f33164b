"""The outcome journal: a worker process's outcomes on local disk before they reach the ledger.

Writing each outcome to the database before the next message's final dot cost
about 85 µs of CPU a message (the database's UPDATE and commit, and waking it up),
a fifth of the machine's time per message. Appending a line to a file costs half
a microsecond, and the line survives the death of the process that wrote it: it
is in the kernel's page cache as soon as ``write`` returns. So a batch appends
each outcome here before it may finish the next message, and folds the lines into
the ledger in one statement every :data:`FOLD_EVERY` outcomes (and at its end).

A dead process's journal is an *orphan*: the next process on the same machine
(a respawned pool process, the next batch, the beat's reconciler) folds its lines
into the ledger and takes the rest of its claim back exactly as if the lines had
been written to the ledger one by one, so a killed worker still leaves at most
the message in flight in doubt (:mod:`dispatcher.sends.recovery`).

Each journal is one file per claim, named after its owner, holding an exclusive
``flock`` for as long as its writer lives: the kernel drops the lock when the
process dies, which is how a reader tells an orphan from a live journal. The
first line names the owner and the database; each further line is one
:class:`Entry` as a JSON array. A line cut short by a kill (no line end) was
never written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from dispatcher.config import redact_url
from dispatcher.errors import DispatcherError

log = logging.getLogger(__name__)

#: Outcomes held in a journal before they are folded into the ledger. A worker
#: machine that dies outright (its page cache lost) leaves up to this many rows of
#: each of its claims in doubt, and the reconciler marks them so (never silently).
FOLD_EVERY = 100
FORMAT_VERSION = 1
SUFFIX = ".journal"
_NEW = ".new"  # a journal being created: renamed to its name once its header is written
_BAD = ".unreadable"  # a journal no reader could make sense of, kept for an operator
UNBORN_AFTER_SECONDS = 60.0
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
#: ``json.dumps(..., ensure_ascii=False)`` builds an encoder per call; one per outcome adds up.
_ENCODER = json.JSONEncoder(ensure_ascii=False)


class JournalError(DispatcherError):
    """The journal could not be written (a full disk, a folder that is not writable)."""


class Entry(NamedTuple):
    """One row's new state, as the ledger fold applies it.

    ``attempted`` is false for rows that were not tried (a message that could not
    be built, a row put off by a sending limit): their attempts, code and
    Message-ID stay as they were. Times are UTC text (:func:`utc_text`).
    """

    delivery_id: int
    status: str
    code: int | None
    reply: str
    message_id: str | None
    due_at: str | None
    in_doubt: bool
    at: str | None  # last_attempt_at; None leaves it as it was
    attempted: bool


def utc_text(moment: dt.datetime) -> str:
    """A timestamp as fixed-width UTC text, readable by both PostgreSQL and SQLite.

    The first 26 characters are SQLite's (SQLAlchemy's) storage format; the offset
    keeps PostgreSQL from reading it in the session's time zone. (``isoformat``
    writes the same as ``%Y-%m-%d %H:%M:%S.%f+00:00`` in half the time: it runs for
    every outcome.)
    """
    return moment.astimezone(dt.UTC).isoformat(" ", "microseconds")


def fingerprint(database_url: str) -> str:
    """Which ledger a journal belongs to: a process folds only its own database's."""
    return hashlib.sha256(redact_url(database_url).encode()).hexdigest()[:16]


def path_for(folder: Path, owner: str) -> Path:
    return folder / (_UNSAFE.sub("_", owner) + SUFFIX)


class Journal:
    """The open journal of one claim, locked by its writer until closed.

    :raises JournalError: when the file cannot be created or written
    """

    def __init__(self, folder: Path, owner: str, database: str) -> None:
        self.owner = owner
        self.path = path_for(folder, owner)
        # Created under another name and renamed once locked and headed, so that a
        # reader never finds the journal unlocked before its writer has it.
        new = self.path.with_name(self.path.name + _NEW)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except OSError as exc:
            raise JournalError(f"cannot create the outcome journal {self.path}: {exc}") from exc
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # a new file of our own: never waits
        header = {"journal": FORMAT_VERSION, "owner": owner, "database": database}
        self._write(json.dumps(header).encode() + b"\n")
        try:
            os.rename(new, self.path)
        except OSError as exc:
            self.close()
            raise JournalError(f"cannot create the outcome journal {self.path}: {exc}") from exc

    def append(self, entry: Entry) -> str:
        """Write one entry; it survives this process from the moment this returns.

        :returns: the entry as its JSON text (the fold sends the same text)
        """
        line = _ENCODER.encode(entry)
        self._write(line.encode() + b"\n")
        return line

    def discard(self) -> None:
        """Remove the journal: everything in it is in the ledger."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # unlinked while still locked: no reader takes it for an orphan
        self.close()

    def close(self) -> None:
        """Close and unlock, keeping the file: the next process on the machine folds it."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _write(self, data: bytes) -> None:
        try:
            written = os.write(self._fd, data)
        except OSError as exc:
            raise JournalError(f"cannot write the outcome journal {self.path}: {exc}") from exc
        if written != len(data):
            raise JournalError(f"the outcome journal {self.path} is full (disk space?)")


@dataclass(frozen=True)
class Orphan:
    """A dead writer's journal, locked by the reader while it is open."""

    path: Path
    owner: str
    entries: list[Entry]


def orphans(folder: Path, database: str) -> Iterator[Orphan]:
    """The journals in ``folder`` whose writers are dead, one at a time, each locked.

    The caller folds each and removes its file before asking for the next; a
    journal of another database, or one another reader holds, is left alone.
    """
    try:
        paths = sorted(folder.iterdir())
    except FileNotFoundError:
        return
    for path in paths:
        if path.name.endswith(SUFFIX + _NEW):
            _remove_unborn(path)
            continue
        if not path.name.endswith(SUFFIX):
            continue
        with _locked(path) as handle:
            if handle is not None and (orphan := _read(path, handle, database)) is not None:
                yield orphan


def _remove_unborn(path: Path) -> None:
    """A journal whose writer died while creating it, before it claimed anything.

    Only an old one: a writer locks its new file a moment after creating it, and a
    reader that came in between must not take it away.
    """
    try:
        if time.time() - path.stat().st_mtime < UNBORN_AFTER_SECONDS:
            return
    except FileNotFoundError:
        return
    with _locked(path) as handle:
        if handle is not None:
            path.unlink()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[Any]:
    """The file opened and exclusively locked, or None if its writer (or a reader) has it."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        yield None
        return
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        # Removed between our open and our lock: its writer or another reader is done with it.
        yield handle if os.fstat(handle.fileno()).st_nlink else None


def _read(path: Path, handle: Any, database: str) -> Orphan | None:
    # The last element is what follows the last line end: empty, or a line cut short.
    complete = handle.read().split(b"\n")[:-1]
    try:
        header = json.loads(complete[0])
        if header.get("database") != database:
            return None
        entries = [Entry(*json.loads(line)) for line in complete[1:]]
        return Orphan(path, str(header["owner"]), entries)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        path.rename(path.with_name(path.name + _BAD))
        log.error("outcome journal %s is unreadable, kept as %s%s: %s", path, path.name, _BAD, exc)
        return None
