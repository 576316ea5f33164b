"""SmtpTransport against real servers on 127.0.0.1: our fault-injecting test server,
aiosmtpd (STARTTLS and AUTH from another implementation) and Postfix's smtp-sink."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import pytest
from aiosmtpd.smtp import SMTP as AioSMTP
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from dispatcher.errors import ConfigurationError, RelayUnavailableError
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.transport import Outcome, OutcomeKind, SmtpTransport
from dispatcher.transport.smtp_wire import (
    Reply,
    SessionLost,
    parse_ehlo,
    parse_reply_line,
    wire_content,
)
from tests.smtpd import SmtpServer, unused_port
from tests.support.sending import wait_until
from tests.support.smtp import (
    FreePortController,
    KeepEnvelopes,
    TlsFiles,
    make_message,
    make_messages,
    make_tls_files,
    settings_for,
    smtp_sink,
)

DELIVERED, TEMPORARY = OutcomeKind.DELIVERED, OutcomeKind.TEMPORARY
PERMANENT, UNCERTAIN = OutcomeKind.PERMANENT, OutcomeKind.UNCERTAIN


def send(transport: SmtpTransport, messages: list[OutgoingMessage]) -> list[Outcome]:
    return list(transport.deliver(messages))


def _target(phase: str, index: int) -> str | int:
    """What the server's plans match in ``phase``: the recipient, or at MAIL the message's rank."""
    return f"r{index}@example.org" if phase != "mail" else index


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    """A fresh test server with PIPELINING, on a free port."""
    with SmtpServer(pipelining=True) as server:
        yield server


@pytest.fixture(params=[True, False], ids=["pipelining", "one-at-a-time"])
def server(request: pytest.FixtureRequest) -> Iterator[SmtpServer]:
    """A fresh test server, once with PIPELINING and once without: tests run on both."""
    with SmtpServer(pipelining=request.param) as server:
        yield server


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def transport_for() -> Iterator[Callable[..., SmtpTransport]]:
    """Builds transports for a server with settings overrides, and closes them after."""
    made: list[SmtpTransport] = []

    def build(server: SmtpServer, **overrides: object) -> SmtpTransport:
        made.append(SmtpTransport(settings_for(server.url, **overrides)))
        return made[-1]

    yield build
    for transport in made:
        transport.close()


# --- the wire, without a socket ---------------------------------------------------------------


def test_reply_lines_are_split_into_code_continuation_and_text() -> None:
    assert parse_reply_line(b"250-smtpd.test\r\n") == (250, True, "smtpd.test")
    assert parse_reply_line(b"250 2.0.0 Ok: queued as 4Xk2f3\r\n") == (
        250,
        False,
        "2.0.0 Ok: queued as 4Xk2f3",
    )
    assert parse_reply_line(b"354\r\n") == (354, False, "")
    with pytest.raises(SessionLost):
        parse_reply_line(b"hello\r\n")


def test_ehlo_keywords_are_read_with_their_parameters() -> None:
    reply = Reply(250, "smtpd.test\nPIPELINING\nsize 1000\nAUTH=LOGIN\nAUTH PLAIN LOGIN")
    assert parse_ehlo(reply) == {"PIPELINING": "", "SIZE": "1000", "AUTH": "PLAIN LOGIN"}


def test_content_is_sent_as_is_unless_a_line_starts_with_a_dot() -> None:
    clean = b"Subject: x\r\n\r\nbody\r\n"
    assert wire_content(clean) is clean
    assert wire_content(b".top\r\nmid\r\n.\r\n") == b"..top\r\nmid\r\n..\r\n"
    assert wire_content(b"no line end") == b"no line end\r\n"


# --- delivery ---------------------------------------------------------------------------------


def test_delivers_and_keeps_the_reply_with_its_queue_id(smtpd: SmtpServer, transport_for) -> None:
    message = make_message(7)
    [outcome] = send(transport_for(smtpd), [message])
    assert outcome == Outcome(7, DELIVERED, 250, "2.0.0 Ok: queued as T000001")
    [received] = smtpd.messages
    assert (received.mail_from, received.rcpt_tos) == (message.envelope_from, (message.recipient,))
    assert received.data == message.data


def test_content_with_dot_lines_arrives_unchanged(smtpd: SmtpServer, transport_for) -> None:
    data = b".starts with a dot\r\n.\r\nends without CRLF"
    send(transport_for(smtpd), [make_message(1, data=data)])
    assert smtpd.messages[0].data == data + b"\r\n"


def test_many_messages_share_one_connection_across_deliver_calls(
    smtpd: SmtpServer, transport_for
) -> None:
    transport = transport_for(smtpd)
    first = send(transport, make_messages(30, size=60_000))
    second = send(transport, make_messages(30, start=31, size=60_000))
    assert [o.delivery_id for o in first + second] == list(range(1, 61))
    assert {o.kind for o in first + second} == {DELIVERED}
    assert [m.rcpt_tos[0] for m in smtpd.messages] == [f"r{i}@example.org" for i in range(1, 61)]
    assert smtpd.connections == 1


def test_nothing_to_send_opens_no_connection(smtpd: SmtpServer, transport_for) -> None:
    transport = transport_for(smtpd)
    assert send(transport, []) == []
    assert smtpd.connections == 0


def test_reconnects_after_messages_per_connection(smtpd: SmtpServer, transport_for) -> None:
    outcomes = send(transport_for(smtpd, messages_per_connection=2), make_messages(5))
    assert {o.kind for o in outcomes} == {DELIVERED}
    assert [m.connection for m in smtpd.messages] == [1, 1, 2, 2, 3]
    assert [verb for _, verb in smtpd.commands].count("QUIT") == 2


def test_reconnects_quietly_when_the_relay_timed_out_an_idle_connection(
    smtpd: SmtpServer, transport_for
) -> None:
    transport = transport_for(smtpd)
    send(transport, make_messages(1))
    smtpd.hang_up_all()  # what Postfix does after smtpd_timeout of idleness
    time.sleep(0.1)
    assert [o.kind for o in send(transport, make_messages(1, start=2))] == [DELIVERED]
    assert smtpd.connections == 2


def test_refused_recipient_in_the_middle_keeps_every_reply(
    server: SmtpServer, transport_for
) -> None:
    server.fail_rcpt("r5@example.org", [(550, "5.1.1 <r5@example.org>: no such user")])
    outcomes = send(transport_for(server), make_messages(10, size=20_000))
    refused = outcomes.pop(4)
    assert refused == Outcome(5, PERMANENT, 550, "5.1.1 <r5@example.org>: no such user")
    assert [o.kind for o in outcomes] == [DELIVERED] * 9
    assert len({o.reply for o in outcomes}) == 9  # each message its own queue id
    assert len(server.accepted) == 9 and server.connections == 1
    verbs = [verb for _, verb in server.commands]
    # Pipelined, DATA went out too (and was refused 554); one at a time, it is never sent.
    expected = (
        ["MAIL", "RCPT", "DATA", "RSET", "MAIL"]
        if server.pipelining
        else ["MAIL", "RCPT", "RSET", "MAIL"]
    )
    rset = verbs.index("RSET")
    assert verbs[rset - len(expected) + 2 : rset + 2] == expected
    assert server.pipelining_violations == 0
    assert (server.pipelined_commands > 0) is server.pipelining


def test_pipelining_off_in_settings_sends_one_command_at_a_time(
    smtpd: SmtpServer, transport_for
) -> None:
    outcomes = send(transport_for(smtpd, pipelining=False), make_messages(5))
    assert {o.kind for o in outcomes} == {DELIVERED}
    assert smtpd.pipelined_commands == 0


def test_falls_back_to_helo_when_ehlo_is_unknown(smtpd: SmtpServer, transport_for) -> None:
    smtpd.plan("ehlo", None, [502])
    assert [o.kind for o in send(transport_for(smtpd), make_messages(3))] == [DELIVERED] * 3
    assert "HELO" in [verb for _, verb in smtpd.commands]
    assert smtpd.pipelined_commands == 0  # HELO means no extensions, so no pipelining


#: What the relay answers in each phase to refuse a message, for a while or for good.
LATER = {"mail": 451, "rcpt": 451, "data": 451, "dot": 451}
NEVER = {"mail": 550, "rcpt": 550, "data": 554, "dot": 552}


@pytest.mark.parametrize(
    ("phase", "code", "kind"),
    [(phase, code, TEMPORARY) for phase, code in LATER.items()]
    + [(phase, code, PERMANENT) for phase, code in NEVER.items()],
)
def test_refusals_are_classified_and_the_connection_carries_on(
    phase, code: int, kind: OutcomeKind, server: SmtpServer, transport_for
) -> None:
    server.plan(phase, _target(phase, 2), [code])
    outcomes = send(transport_for(server), make_messages(3))
    assert [(o.kind, o.code) for o in outcomes] == [
        (DELIVERED, 250),
        (kind, code),
        (DELIVERED, 250),
    ]
    assert [m.rcpt_tos[0] for m in server.accepted] == ["r1@example.org", "r3@example.org"]
    assert server.connections == 1


def test_a_temporary_refusal_then_success_on_the_retry(smtpd: SmtpServer, transport_for) -> None:
    smtpd.fail_rcpt("r1@example.org", [451, 250])
    transport = transport_for(smtpd)
    assert send(transport, [make_message(1)])[0].kind is TEMPORARY
    assert send(transport, [make_message(1)])[0].kind is DELIVERED


@pytest.mark.parametrize("phase", ["mail", "rcpt", "data", "dot"])
def test_421_is_temporary_and_the_next_message_gets_a_new_connection(
    phase, smtpd: SmtpServer, transport_for
) -> None:
    smtpd.plan(phase, _target(phase, 2), [421])
    outcomes = send(transport_for(smtpd), make_messages(3))
    assert [(o.kind, o.code) for o in outcomes] == [
        (DELIVERED, 250),
        (TEMPORARY, 421),
        (DELIVERED, 250),
    ]
    assert [m.connection for m in smtpd.accepted] == [1, 2]


# --- lost connections and timeouts ------------------------------------------------------------


def test_drop_in_the_middle_of_data_is_temporary(smtpd: SmtpServer, transport_for) -> None:
    # 16 MB cannot all sit in socket buffers: the client is still writing when the relay hangs up.
    smtpd.drop("content", "r1@example.org")
    big = make_message(1, size=16_000_000)
    outcomes = send(transport_for(smtpd), [big, make_message(2)])
    assert (outcomes[0].kind, outcomes[0].code) == (TEMPORARY, 0)
    assert outcomes[1].kind is DELIVERED
    assert [m.rcpt_tos[0] for m in smtpd.messages] == ["r2@example.org"]


def test_hang_up_after_the_dot_is_uncertain(smtpd: SmtpServer, transport_for) -> None:
    smtpd.drop("dot", "r2@example.org")  # the message is kept, the reply never comes
    outcomes = send(transport_for(smtpd), make_messages(3))
    assert [(o.kind, o.code) for o in outcomes] == [
        (DELIVERED, 250),
        (UNCERTAIN, 0),
        (DELIVERED, 250),
    ]
    assert "after the final dot" in outcomes[1].reply
    assert len(smtpd.messages) == 3 and smtpd.connections == 2


def test_silence_after_the_dot_is_uncertain_within_final_timeout(
    smtpd: SmtpServer, transport_for
) -> None:
    smtpd.delay("dot", 10.0, "r1@example.org")
    transport = transport_for(smtpd, final_timeout=0.5)
    started = time.monotonic()
    outcomes = send(transport, make_messages(2))
    assert 0.5 <= time.monotonic() - started < 3.0
    assert [(o.kind, o.code) for o in outcomes] == [(UNCERTAIN, 0), (DELIVERED, 250)]
    assert "0.5 s" in outcomes[0].reply


#: What a reply slower than the client's timeout in each phase makes of the message.
TOO_SLOW = {"mail": TEMPORARY, "rcpt": TEMPORARY, "data": TEMPORARY, "dot": UNCERTAIN}


@pytest.mark.parametrize(
    ("phase", "seconds", "kind"),
    [(phase, 2.0, kind) for phase, kind in TOO_SLOW.items()]
    + [("rcpt", 0.2, DELIVERED), ("dot", 0.2, DELIVERED)],
)
def test_slow_replies_per_phase(
    phase, seconds: float, kind, server: SmtpServer, transport_for
) -> None:
    server.delay(phase, seconds, _target(phase, 1))
    transport = transport_for(server, command_timeout=0.6, final_timeout=0.6)
    outcomes = send(transport, make_messages(2))
    assert [o.kind for o in outcomes] == [kind, DELIVERED]
    assert outcomes[0].code == (250 if kind is DELIVERED else 0)


@pytest.mark.parametrize("phase", ["connect", "ehlo"])
def test_slow_greeting_or_ehlo_means_the_relay_is_unavailable(
    phase, smtpd: SmtpServer, transport_for
) -> None:
    smtpd.delay(phase, 2.0)
    transport = transport_for(smtpd, connect_timeout=0.5, command_timeout=0.5)
    with pytest.raises(RelayUnavailableError) as caught:
        send(transport, make_messages(1))
    assert caught.value.code == 0 and "no answer within" in caught.value.reply


def test_421_greeting_means_the_relay_is_unavailable(smtpd: SmtpServer, transport_for) -> None:
    smtpd.refuse_connections(421)
    with pytest.raises(RelayUnavailableError) as caught:
        send(transport_for(smtpd), make_messages(1))
    assert caught.value.code == 421
    assert smtpd.messages == []


def test_a_port_with_nothing_listening_means_the_relay_is_unavailable() -> None:
    with unused_port() as port:
        transport = SmtpTransport(settings_for(f"smtp://127.0.0.1:{port}"))
        with pytest.raises(RelayUnavailableError) as caught:
            send(transport, make_messages(1))
    assert caught.value.code == 0
    assert f"127.0.0.1:{port}" in caught.value.reply and "refused" in caught.value.reply


def test_failing_to_reconnect_part_way_raises_after_the_outcomes_so_far(
    smtpd: SmtpServer, transport_for
) -> None:
    smtpd.plan("connect", 2, [421])
    outcomes: list[Outcome] = []
    with pytest.raises(RelayUnavailableError):
        for outcome in transport_for(smtpd, messages_per_connection=2).deliver(make_messages(4)):
            outcomes.append(outcome)
    assert [o.delivery_id for o in outcomes] == [1, 2]
    assert len(smtpd.messages) == 2


# --- the ordering rule ------------------------------------------------------------------------


def test_the_next_final_dot_waits_for_the_consumer(server: SmtpServer, transport_for) -> None:
    outcomes = transport_for(server, pipelining=server.pipelining).deliver(make_messages(5))
    for taken in range(1, 4):
        assert next(outcomes).delivery_id == taken
        time.sleep(0.05)  # time enough for a wrongly sent next message to arrive
        assert len(server.messages) == taken


@pytest.mark.parametrize("how", ["close", "throw"])
def test_a_consumer_that_stops_gets_exactly_what_it_took(
    how: str, server: SmtpServer, transport_for
) -> None:
    transport = transport_for(server)
    outcomes = transport.deliver(make_messages(10))
    assert [next(outcomes).delivery_id for _ in range(3)] == [1, 2, 3]
    if how == "close":
        outcomes.close()
    else:
        with pytest.raises(KeyError):
            outcomes.throw(KeyError("database down"))
    # Pipelined, the fourth envelope went out with the third dot: that connection is cut at
    # once so the relay drops the transaction; one command at a time, it stays for reuse.
    assert wait_until(
        lambda: server.open_connections == (0 if server.pipelining else 1), 5, interval=0.01
    )
    time.sleep(0.1)
    assert [m.rcpt_tos[0] for m in server.messages] == [f"r{i}@example.org" for i in (1, 2, 3)]
    assert [o.kind for o in send(transport, make_messages(2, start=11))] == [DELIVERED] * 2
    assert server.connections == (2 if server.pipelining else 1)


def test_relay_hanging_up_while_the_consumer_records_costs_no_more_than_a_retry(
    server: SmtpServer, transport_for
) -> None:
    outcomes = transport_for(server).deliver(make_messages(3))
    assert next(outcomes).kind is DELIVERED
    server.hang_up_all()  # pipelined, message 2's content is already there, minus its dot
    time.sleep(0.1)
    rest = list(outcomes)
    # Pipelined, message 2 was under way and hears the 421; otherwise it starts afresh.
    expected = [(TEMPORARY, 421), (DELIVERED, 250)] if server.pipelining else [(DELIVERED, 250)] * 2
    assert [(o.kind, o.code) for o in rest] == expected
    assert len(server.accepted) == (2 if server.pipelining else 3)


def test_an_error_making_the_next_message_does_not_cost_the_current_one(
    smtpd: SmtpServer, transport_for
) -> None:
    def produce() -> Iterator[OutgoingMessage]:
        yield from make_messages(2)
        raise ValueError("slot value with a line break")

    outcomes: list[Outcome] = []
    with pytest.raises(ValueError, match="line break"):
        for outcome in transport_for(smtpd).deliver(produce()):
            outcomes.append(outcome)
    assert [o.kind for o in outcomes] == [DELIVERED, DELIVERED]
    assert len(smtpd.accepted) == 2
    assert smtpd.open_connections == 1  # left between transactions, fit for the next batch


def test_an_address_that_could_inject_commands_is_refused_locally(
    smtpd: SmtpServer, transport_for
) -> None:
    evil = make_message(1, recipient="x@example.org>\r\nRCPT TO:<y@example.org")
    outcomes = send(transport_for(smtpd), [evil, make_message(2)])
    assert [(o.kind, o.code) for o in outcomes] == [(PERMANENT, 0), (DELIVERED, 250)]
    assert [m.rcpt_tos for m in smtpd.messages] == [("r2@example.org",)]


# --- TLS and AUTH -----------------------------------------------------------------------------


def test_starttls_and_auth_plain(tls_files: TlsFiles) -> None:
    context = tls_files.server_context()
    with SmtpServer(starttls=context, users={"alice": "s3cret"}, require_auth=True) as server:
        url = f"smtp://alice:s3cret@127.0.0.1:{server.port}"
        settings = settings_for(url, starttls=True)
        transport = SmtpTransport(settings, ssl_context=tls_files.client_context())
        assert [o.kind for o in send(transport, make_messages(2))] == [DELIVERED] * 2
        transport.close()
        assert [(m.tls, m.auth_user) for m in server.messages] == [(True, "alice")] * 2


def test_implicit_tls(tls_files: TlsFiles) -> None:
    with SmtpServer(implicit_tls=tls_files.server_context()) as server:
        transport = SmtpTransport(settings_for(server.url), ssl_context=tls_files.client_context())
        assert [o.kind for o in send(transport, make_messages(3))] == [DELIVERED] * 3
        transport.close()
        assert all(m.tls for m in server.messages)


def test_an_untrusted_certificate_is_refused(tls_files: TlsFiles) -> None:
    with SmtpServer(implicit_tls=tls_files.server_context()) as server:
        transport = SmtpTransport(settings_for(server.url))  # system trust store only
        with pytest.raises(RelayUnavailableError, match="TLS failed"):
            send(transport, make_messages(1))


def test_starttls_required_but_not_offered(smtpd: SmtpServer, transport_for) -> None:
    with pytest.raises(RelayUnavailableError, match="does not offer STARTTLS"):
        send(transport_for(smtpd, starttls=True), make_messages(1))
    assert smtpd.messages == []


def test_wrong_password_is_refused_and_never_shown(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with SmtpServer(users={"alice": "s3cret"}) as server:
        transport = SmtpTransport(settings_for(f"smtp://alice:hunter2@127.0.0.1:{server.port}"))
        with pytest.raises(RelayUnavailableError) as caught:
            send(transport, make_messages(1))
    assert caught.value.code == 535
    shown = [repr(transport), str(caught.value), repr(caught.value), caplog.text]
    assert not any("hunter2" in text for text in shown)


def _alice(
    server: AioSMTP, session: Session, envelope: Envelope, mechanism: str, data
) -> AuthResult:
    good = isinstance(data, LoginPassword) and (data.login, data.password) == (b"alice", b"s3cret")
    return AuthResult(success=good)


def test_starttls_and_auth_login_against_aiosmtpd(tls_files: TlsFiles) -> None:
    handler = KeepEnvelopes()
    controller = FreePortController(
        handler,
        hostname="127.0.0.1",
        port=0,
        tls_context=tls_files.server_context(),
        require_starttls=True,
        authenticator=_alice,
        auth_required=True,
        auth_exclude_mechanism=["PLAIN"],
    )
    controller.start()
    try:
        url = f"smtp://alice:s3cret@127.0.0.1:{controller.port}"
        transport = SmtpTransport(
            settings_for(url, starttls=True), ssl_context=tls_files.client_context()
        )
        outcomes = send(transport, make_messages(3))
        transport.close()
    finally:
        controller.stop()
    assert [(o.kind, o.reply) for o in outcomes] == [(DELIVERED, "2.0.0 Ok: queued as AIO1")] * 3
    assert [e.rcpt_tos for e in handler.envelopes] == [[f"r{i}@example.org"] for i in (1, 2, 3)]


# --- Postfix's smtp-sink ----------------------------------------------------------------------


@pytest.mark.parametrize("pipelining", [True, False])
def test_against_postfix_smtp_sink(pipelining: bool, tmp_path) -> None:
    dump = tmp_path / "dump"
    with smtp_sink("-d", f"{dump}/%H%M%S.") as port:
        url = f"smtp://127.0.0.1:{port}"
        transport = SmtpTransport(
            settings_for(url, pipelining=pipelining, messages_per_connection=50)
        )
        outcomes = send(transport, make_messages(120, size=60_000))
        transport.close()
    assert [o.delivery_id for o in outcomes] == list(range(1, 121))
    assert {(o.kind, o.code) for o in outcomes} == {(DELIVERED, 250)}
    assert len(list(dump.iterdir())) == 120


def test_construction_refuses_settings_that_cannot_work() -> None:
    with pytest.raises(ConfigurationError):
        SmtpTransport(settings_for("file:///tmp/outbox"))
    with pytest.raises(ConfigurationError):
        SmtpTransport(settings_for("smtp://127.0.0.1:25", messages_per_connection=0))
