"""Folders of ``.eml`` files that a person reads: postmaster, abuse, and the quarantine.

The receiver keeps here what no program can act on: mail for ``postmaster@`` and
``abuse@`` at the bounce domain (RFC 5321 section 4.5.1 requires a postmaster,
and people write to both to report a problem with our mail), and returned mail
it could not read. One message per file, named by the time it arrived and a
digest of its bytes, so any mail client opens it and ``ls`` sorts it;
``dispatcher bounces mail`` lists them.

Each folder has a quota, a number of messages and a number of bytes, so a flood
cannot fill the disk. What happens past it is the caller's choice (the receiver
answers 452 at RCPT for the people's folders and drops unreadable mail with a
log line). The totals are counted once and kept; a folder that looks full is
counted again, so messages an operator deleted make room at once.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import hashlib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dispatcher.bounces.mailparts import header_text
from subscribers.orm import utcnow

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # terminal escapes in a header stay inert


@dataclass(frozen=True)
class Quota:
    """How much one folder may hold.

    :param messages: files at most
    :param megabytes: their total size at most, in MiB
    """

    messages: int = 10_000
    megabytes: int = 200

    @property
    def bytes(self) -> int:
        return self.megabytes * 1024 * 1024


@dataclass(frozen=True)
class Kept:
    """One stored message, as a listing shows it."""

    path: Path
    size: int
    sender: str
    subject: str
    date: str


class MailFolder:
    """A folder of ``.eml`` files with a quota; safe to use from several threads."""

    def __init__(self, path: Path, quota: Quota, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.path, self.quota, self.clock = path, quota, clock
        self._lock = threading.Lock()
        self._totals: tuple[int, int] | None = None  # (messages, bytes), counted lazily

    def has_room(self, size: int = 0) -> bool:
        """Whether one more message of ``size`` bytes fits."""
        with self._lock:
            return self._fits(size)

    def keep(self, raw: bytes) -> Path | None:
        """Store a message; None when the folder is full (nothing is written then)."""
        with self._lock:
            if not self._fits(len(raw)):
                return None
            self.path.mkdir(parents=True, exist_ok=True)
            final = self._new_name(raw)
            partial = self.path / f".{final.name}.part"  # a reader never sees half a message
            partial.write_bytes(raw)
            os.replace(partial, final)
            count, size = self._totals or (0, 0)
            self._totals = (count + 1, size + len(raw))
            return final

    def messages(self) -> list[Kept]:
        """The stored messages, oldest first."""
        return [_describe(path) for path in self._files()]

    def _new_name(self, raw: bytes) -> Path:
        """A free name: the time, a digest, and a number when the same bytes came this second."""
        stem = f"{self.clock():%Y%m%dT%H%M%S}-{hashlib.sha256(raw).hexdigest()[:12]}"
        path, number = self.path / f"{stem}.eml", 1
        while path.exists():  # under the lock, and only this process writes here
            number += 1
            path = self.path / f"{stem}-{number}.eml"
        return path

    def _fits(self, size: int) -> bool:
        if self._totals is None or not self._within(self._totals, size):
            self._totals = self._count()  # deleted files make room
        return self._within(self._totals, size)

    def _within(self, totals: tuple[int, int], size: int) -> bool:
        count, total = totals
        return count < self.quota.messages and total + size <= self.quota.bytes

    def _count(self) -> tuple[int, int]:
        files = self._files()
        return len(files), sum(_size(path) for path in files)

    def _files(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.glob("*.eml") if p.is_file())


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # deleted by a person while we counted
        return 0


def _describe(path: Path) -> Kept:
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    with path.open("rb") as stream:
        headers = parser.parse(stream)

    def field(name: str) -> str:
        return _UNPRINTABLE.sub("?", header_text(headers, name))[:200]

    return Kept(path, _size(path), field("From"), field("Subject"), field("Date"))
