"""An SMTP sink in a process of its own that writes down every recipient it accepts.

The several-hosts test (``tests/hosts/``) counts duplicates from what the relay
received, not from the ledger: this sink is ``tests.smtpd.SmtpServer`` (PIPELINING,
no message kept) listening on the address the worker hosts reach, and it appends one
line per accepted message to a file, ``CODE RCPT`` for each recipient, as the final
dot is answered. It runs in its own process so that the test's process, which also
polls PostgreSQL and reads this file, never slows the relay down::

    python -m tests.support.recording_sink HOST OUT_FILE

It prints its port on stdout once it listens and runs until SIGTERM. SIGUSR1 makes
it slow (each final dot answered after :data:`SLOW_DOT_SECONDS`), SIGUSR2 quick again.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from tests.smtpd import Action, Delay, Phase, Received, SmtpServer

#: How long a slowed sink waits before answering each final dot.
SLOW_DOT_SECONDS = 0.05


class RecordingSink(SmtpServer):
    """``SmtpServer`` on ``host``, appending each accepted message's recipients to ``out``."""

    def __init__(self, host: str, out: IO[str]) -> None:
        super().__init__(pipelining=True, keep_data=False)
        self.host = host
        self.slow = False
        self._out = out

    def _action(self, phase: Phase, number: int, addresses: Sequence[str]) -> Action:
        if phase == "dot" and self.slow:
            return Delay(SLOW_DOT_SECONDS)
        return super()._action(phase, number, addresses)

    def _record(self, message: Received) -> None:
        if message.accepted:
            self._out.write("".join(f"{message.code} {rcpt}\n" for rcpt in message.rcpt_tos))
            self._out.flush()


def received(path: Path) -> Counter[str]:
    """How many times the sink accepted a message for each recipient, from its file."""
    counts: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        _, _, rcpt = line.partition(" ")
        counts[rcpt] += 1
    return counts


def accepted_count(path: Path) -> int:
    """How many recipients the sink has accepted so far (complete lines only)."""
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("host")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with args.out.open("a", encoding="utf-8") as out, RecordingSink(args.host, out) as sink:
        signal.signal(signal.SIGUSR1, lambda *_: setattr(sink, "slow", True))
        signal.signal(signal.SIGUSR2, lambda *_: setattr(sink, "slow", False))
        print(sink.port, flush=True)
        stop.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
