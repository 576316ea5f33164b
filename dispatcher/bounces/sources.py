"""Returned messages stored on disk: mbox files, single ``.eml`` files and Maildir folders."""

from __future__ import annotations

import mailbox
from collections.abc import Iterable, Iterator
from pathlib import Path

from dispatcher.errors import BounceError


def read_sources(paths: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    """Every message in ``paths``, as (where it is, its bytes), in order.

    A folder must be a Maildir; a file starting with ``From `` is an mbox; any
    other file is one message.

    :raises BounceError: for a folder that is not a Maildir
    """
    for path in paths:
        if path.is_dir():
            yield from _maildir(path)
        elif _is_mbox(path):
            yield from _mbox(path)
        else:
            yield str(path), path.read_bytes()


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(5) == b"From "


def _mbox(path: Path) -> Iterator[tuple[str, bytes]]:
    box = mailbox.mbox(path, factory=None, create=False)
    try:
        for number, key in enumerate(box.keys(), start=1):
            yield f"{path}#{number}", box.get_bytes(key)
    finally:
        box.close()


def _maildir(path: Path) -> Iterator[tuple[str, bytes]]:
    if not (path / "cur").is_dir() and not (path / "new").is_dir():
        raise BounceError(f"{path}: a folder, but not a Maildir (it has no cur/ or new/)")
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.keys()):
        yield f"{path}/{key}", box.get_bytes(key)
