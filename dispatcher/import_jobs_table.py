"""The ``import_jobs`` table: a CSV import started in the browser, its progress and its report.

A row is made when a file is uploaded (state ``ready``: read, not yet imported), and
the file's bytes are kept in it until the import runs, so that any process can run
it. The import updates ``done`` after each chunk; at the end the bytes are dropped
and the outcome (counts, and the skipped lines with their reasons) stays.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from subscribers.orm import Base, BigId, intpk, status_values, timestamp


class ImportState(enum.StrEnum):
    READY = "ready"  # uploaded and read: waiting for the admin's confirmation
    RUNNING = "running"  # being imported (``done`` grows chunk by chunk)
    DONE = "done"  # imported: the report is complete
    FAILED = "failed"  # refused or stopped: nothing of it was imported


class ImportJob(Base):
    """One CSV file being imported into one list."""

    __tablename__ = "import_jobs"
    __table_args__ = (CheckConstraint(f"state IN ({status_values(ImportState)})", name="state"),)

    id: Mapped[intpk]
    list_id: Mapped[int] = mapped_column(BigId, ForeignKey("lists.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default=ImportState.READY.value)
    confirmed: Mapped[bool] = mapped_column(default=False)  # the office vouches for consent
    data: Mapped[bytes | None] = mapped_column(LargeBinary)  # dropped once imported
    size: Mapped[int] = mapped_column(BigId, default=0)
    encoding: Mapped[str] = mapped_column(String(16), default="")
    delimiter: Mapped[str] = mapped_column(String(4), default="")
    columns: Mapped[dict[str, Any]] = mapped_column(default=dict)  # field -> header cell
    ignored: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"columns": [...]}
    lines: Mapped[int] = mapped_column(default=0)  # physical lines, the header's included
    done: Mapped[int] = mapped_column(default=0)  # records handled so far
    imported: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"rows": [[line, kind, ...]]}
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[timestamp]
    updated_at: Mapped[timestamp]
    finished_at: Mapped[dt.datetime | None]

    def __repr__(self) -> str:
        return f"ImportJob(id={self.id!r}, state={self.state!r})"
