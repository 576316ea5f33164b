"""The login's throttle holds when Redis is gone, and counts IPv4 clients of a dual-stack
socket one by one.

Both with real things: a ``redis-server`` of the test's own, killed in the middle, and the
app served on a dual-stack IPv6 socket that IPv4 clients reach from 127.0.0.2 and
127.0.0.3, so that the app sees them as ``::ffff:127.0.0.2`` and ``::ffff:127.0.0.3``.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Rate, Settings
from dispatcher.transport.memory import MemoryTransport
from tests.support.admin import PASSWORD, csrf_of, make_desk
from tests.support.services import private_redis

pytestmark = pytest.mark.integration

LIMIT = 3


@contextmanager
def serve_dual_stack(app: FastAPI) -> Iterator[int]:
    """Serve ``app`` on ``[::]`` with IPv4 accepted too (asyncio would set V6ONLY itself)."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("::", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the web app did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def client_from(source: str, port: int) -> httpx.Client:
    """A client whose connections leave from ``source`` (any 127.x address is loopback)."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(transport=transport, base_url=f"http://127.0.0.1:{port}")


def attempt(http: httpx.Client, password: str = "wrong password") -> int:
    token = csrf_of(http.get("/login").text)
    form = {"csrf_token": token, "username": "editor", "password": password}
    return http.post("/login", data=form).status_code


def with_login_limit(settings: Settings) -> Settings:
    web = dataclasses.replace(settings.web, login_rate=Rate(limit=LIMIT, window=600))
    # Served over plain http here: the session cookie must not be Secure.
    return settings.with_overrides(web=web, public_url="http://newsletter.example.org")


def test_ipv4_clients_of_a_dual_stack_socket_are_counted_apart(
    make_settings: Callable[..., Settings], pg_url: str, pg_sessions: sessionmaker[Session]
) -> None:
    settings = with_login_limit(make_settings(database_url=pg_url))
    desk = make_desk(settings, pg_sessions, MemoryTransport())
    with (
        serve_dual_stack(desk.app) as port,
        client_from("127.0.0.2", port) as guesser,
        client_from("127.0.0.3", port) as neighbour,
    ):
        assert [attempt(guesser) for _ in range(LIMIT + 1)] == [401] * LIMIT + [429]
        # Another IPv4 address is another visitor, though both arrive as ::ffff:...
        assert attempt(neighbour, PASSWORD) == 303


def test_the_login_stays_throttled_when_redis_is_killed(
    make_settings: Callable[..., Settings], pg_url: str, pg_sessions: sessionmaker[Session]
) -> None:
    with private_redis() as redis_server:
        settings = make_settings(database_url=pg_url, broker_url=redis_server.url)
        desk = make_desk(with_login_limit(settings), pg_sessions, MemoryTransport())
        with serve_dual_stack(desk.app) as port, client_from("127.0.0.2", port) as guesser:
            assert attempt(guesser) == 401  # counted in Redis
            redis_server.stop()
            answers = [attempt(guesser) for _ in range(LIMIT + 2)]
            # Counted in the process while Redis is away: the limit still holds.
            assert answers[:LIMIT] == [401] * LIMIT and set(answers[LIMIT:]) == {429}
            assert attempt(guesser, PASSWORD) == 429
