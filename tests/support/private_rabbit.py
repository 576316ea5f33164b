"""A RabbitMQ node of the test's own, on free ports, for tests that crash and restart it.

The machine's RabbitMQ is shared and never stopped: a test that breaks the broker
starts its own node here (its own node name, ports, data and log folders), kills
it as a crash would, starts it again on the same data, and removes it afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.web import free_port

BOOT_SECONDS = 60


class PrivateRabbit:
    """``rabbitmq-server`` with its own node name, AMQP and distribution ports, and data."""

    def __init__(self) -> None:
        self.port, self.dist_port = free_port(), free_port()
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.root = Path(tempfile.mkdtemp(prefix="rabbit-test-"))
        (self.root / "plugins").write_text("[].\n")
        # The server script drops to the rabbitmq user when started by root.
        shutil.chown(self.root, "rabbitmq", "rabbitmq")
        shutil.chown(self.root / "plugins", "rabbitmq", "rabbitmq")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self) -> None:
        env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "plugins"),
            "RABBITMQ_PID_FILE": str(self.root / "pid"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "none"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.root / "none-advanced.config"),
        }
        with (self.root / "out.log").open("ab") as out:  # the child keeps its own copy
            self.process = subprocess.Popen(
                ["rabbitmq-server"], env=env, cwd=self.root, start_new_session=True,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + BOOT_SECONDS
        while not self._accepting():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"RabbitMQ did not start: {self.log()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the whole node (the Erlang VM and its helpers), as a crash would."""
        pid_file = self.root / "pid"
        # The VM runs as the rabbitmq user in a session of its own: the script's process
        # group does not hold it, its pid file does.
        if pid_file.exists() and pid_file.read_text().strip().isdigit():
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
            except ProcessLookupError:
                pass
            pid_file.unlink()
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.process = None
        deadline = time.monotonic() + 10  # the VM's threads take a moment to go
        while self._accepting() and time.monotonic() < deadline:
            time.sleep(0.1)

    def log(self) -> str:
        path = self.root / "out.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def _accepting(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"AMQP\x00\x00\x09\x01")
                return bool(connection.recv(8))  # connection.start: the broker is booted
        except OSError:
            return False


@contextmanager
def private_rabbit() -> Iterator[PrivateRabbit]:
    server = PrivateRabbit()
    server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(server.root, ignore_errors=True)
