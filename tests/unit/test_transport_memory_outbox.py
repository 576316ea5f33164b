"""The in-memory and outbox transports, and the factory that picks a transport."""

from __future__ import annotations

from pathlib import Path

import pytest

import dispatcher.transport as transport_package
from dispatcher.config import SmtpSettings
from dispatcher.errors import ConfigurationError, RelayUnavailableError
from dispatcher.message.outgoing import OutgoingMessage
from dispatcher.transport import (
    MemoryTransport,
    OutboxTransport,
    Outcome,
    OutcomeKind,
    SmtpTransport,
    create_transport,
)


def message(
    index: int, data: bytes = b"Subject: hi\r\n\r\nline one\r\nline two\r\n"
) -> OutgoingMessage:
    return OutgoingMessage(
        index, f"b-{index}@example.org", f"r{index}@example.org", data, f"<{index}@x>"
    )


# --- MemoryTransport ----------------------------------------------------------------------------


def test_memory_transport_delivers_and_keeps_what_it_sent() -> None:
    transport = MemoryTransport()
    outcomes = list(transport.deliver([message(1), message(2)]))
    assert [(o.delivery_id, o.kind, o.code) for o in outcomes] == [
        (1, OutcomeKind.DELIVERED, 250),
        (2, OutcomeKind.DELIVERED, 250),
    ]
    assert [m.delivery_id for m in transport.sent] == [1, 2]
    assert transport.outcomes == outcomes


def test_memory_transport_answers_through_its_responder() -> None:
    answers = {
        1: (451, "4.2.0 later"),
        2: (550, "5.1.1 unknown"),
        3: (0, "no reply"),
        4: (250, "ok"),
    }
    transport = MemoryTransport(lambda m: answers[m.delivery_id])
    outcomes = list(transport.deliver([message(i) for i in (1, 2, 3, 4)]))
    assert outcomes == [
        Outcome(1, OutcomeKind.TEMPORARY, 451, "4.2.0 later"),
        Outcome(2, OutcomeKind.PERMANENT, 550, "5.1.1 unknown"),
        Outcome(3, OutcomeKind.UNCERTAIN, 0, "no reply"),
        Outcome(4, OutcomeKind.DELIVERED, 250, "ok"),
    ]
    assert [m.delivery_id for m in transport.sent] == [3, 4]  # taken, whether or not we heard


def test_memory_transport_can_play_a_relay_that_is_down() -> None:
    transport = MemoryTransport()
    transport.unavailable = RelayUnavailableError(421, "4.3.2 down")
    with pytest.raises(RelayUnavailableError):
        list(transport.deliver([message(1)]))
    assert transport.sent == []


def test_memory_transport_responder_may_raise_part_way() -> None:
    def responder(m: OutgoingMessage) -> tuple[int, str]:
        if m.delivery_id == 3:
            raise RelayUnavailableError(0, "connection refused")
        return 250, "ok"

    transport, taken = MemoryTransport(responder), []
    with pytest.raises(RelayUnavailableError):
        for outcome in transport.deliver([message(i) for i in (1, 2, 3, 4)]):
            taken.append(outcome.delivery_id)
    assert taken == [1, 2] and [m.delivery_id for m in transport.sent] == [1, 2]


def test_memory_transport_refuses_codes_that_are_not_smtp() -> None:
    with pytest.raises(ValueError, match="code 354"):
        list(MemoryTransport(lambda m: (354, "go on")).deliver([message(1)]))


# --- OutboxTransport ----------------------------------------------------------------------------


def test_outbox_writes_one_eml_per_message_with_crlf_kept(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "outbox"
    transport = OutboxTransport(folder)
    outcomes = list(transport.deliver([message(1), message(22)]))
    assert sorted(p.name for p in folder.iterdir()) == ["1.eml", "22.eml"]
    assert (folder / "22.eml").read_bytes() == message(22).data
    assert [(o.delivery_id, o.kind, o.code) for o in outcomes] == [
        (1, OutcomeKind.DELIVERED, 250),
        (22, OutcomeKind.DELIVERED, 250),
    ]
    assert outcomes[1].reply.endswith("22.eml")


def test_outbox_replaces_a_file_on_retry_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    transport = OutboxTransport(tmp_path)
    list(transport.deliver([message(5, b"first\r\n")]))
    list(transport.deliver([message(5, b"second\r\n")]))
    assert [p.name for p in tmp_path.iterdir()] == ["5.eml"]
    assert (tmp_path / "5.eml").read_bytes() == b"second\r\n"


def test_outbox_whose_folder_is_a_file_is_an_unavailable_relay(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a folder")
    with pytest.raises(RelayUnavailableError, match="outbox"):
        list(OutboxTransport(tmp_path / "taken").deliver([message(1)]))


# --- create_transport ---------------------------------------------------------------------------


def test_factory_picks_the_transport_the_url_names(tmp_path: Path) -> None:
    assert isinstance(create_transport(SmtpSettings(url="smtp://127.0.0.1:1")), SmtpTransport)
    assert isinstance(create_transport(SmtpSettings(url="smtps://u:p@relay:465")), SmtpTransport)
    outbox = create_transport(SmtpSettings(url=f"file://{tmp_path}/out"))
    assert isinstance(outbox, OutboxTransport) and outbox.folder == tmp_path / "out"
    assert not (tmp_path / "out").exists()  # nothing happens before the first delivery


def test_factory_never_falls_back_to_the_outbox() -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_transport(SmtpSettings(url=None))
    assert str(caught.value) == (
        "SMTP_URL is not set: use smtp://host:port for a relay "
        "or file:///path/to/outbox for an outbox folder"
    )


@pytest.mark.parametrize("url", ["http://relay:25", "lmtp://relay:24", "file://relative/path"])
def test_factory_refuses_other_urls(url: str) -> None:
    with pytest.raises(ConfigurationError, match="SMTP_URL"):
        create_transport(SmtpSettings(url=url))


def test_smtp_transport_shows_no_password() -> None:
    transport = create_transport(SmtpSettings(url="smtp://user:hunter2@relay.example.org:587"))
    assert "hunter2" not in repr(transport)


def test_exported_names_are_sorted_and_complete() -> None:
    exported = transport_package.__all__
    assert exported == sorted(exported)
    public = {
        name
        for name, value in vars(transport_package).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("dispatcher.transport")
    }
    assert public == set(exported)
