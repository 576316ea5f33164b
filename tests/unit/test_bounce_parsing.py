"""Reading returned mail: real-world bounces, DSNs, feedback reports, auto-replies, VERP.

The 117 messages in ``tests/data/bounces`` are flufl.bounce's samples (see the
README there); ``expected.json`` says, for each, the addresses and hard or soft.
The builders at the top make standard DSNs, ARF reports and auto-replies; the
flows and integration tests use them too, for mail addressed to our own VERP
addresses.
"""

from __future__ import annotations

import json
import mailbox
from pathlib import Path

import pytest

from dispatcher.bounces import dsn
from dispatcher.bounces.classify import classify, notification_text
from dispatcher.bounces.decide import (
    Bounce,
    Complaint,
    Ignore,
    Unsubscribe,
    decide,
    intended,
    read_message,
)
from dispatcher.bounces.mailparts import parse_message
from dispatcher.bounces.outcome import Outcome, Summary
from dispatcher.bounces.sources import read_sources
from dispatcher.bounces.verdict import Nature, Severity
from dispatcher.bounces.verp import DeliveryRef, SubscriptionRef, our_address, verify
from dispatcher.errors import BounceError
from subscribers.suppression import email_hmac
from subscribers.tokens import Purpose, Signer
from tests.support.bounces import build_arf, build_auto_reply, build_dsn, build_unsubscribe_mail

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "bounces"
EXPECTED: dict[str, dict[str, object]] = json.loads((SAMPLES / "expected.json").read_text())
DOMAIN = "bounces.example.org"
DOMAINS = frozenset({DOMAIN})
SIGNER = Signer(["test-secret-key"])

ORIGINAL = (
    b"From: Cronache <cronache@cittametropolitana.torino.it>\r\n"
    b"To: Lettore <reader@example.org>\r\n"
    b"Subject: Cronache da Palazzo Cisterna n. 44\r\n"
    b"Message-ID: <7.1.dispatch@cittametropolitana.torino.it>\r\n"
    b"\r\n"
    b"Il bilancio rispetta la quota prevista.\r\n"
)


def verp(delivery_id: int, signer: Signer = SIGNER) -> str:
    return f"b-{signer.sign(Purpose.BOUNCE, delivery_id)}@{DOMAIN}"


def mailto(subscriber_id: int, list_id: int, signer: Signer = SIGNER) -> str:
    return f"u-{signer.sign(Purpose.UNSUBSCRIBE, subscriber_id, list_id)}@{DOMAIN}"


# --- The real-world samples ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_gives_the_expected_addresses_and_kind(name: str) -> None:
    verdict = classify(parse_message((SAMPLES / name).read_bytes()))
    expected = EXPECTED[name]
    named = [*verdict.failures, *verdict.notices]
    assert sorted({f.address.lower() for f in named}) == expected["addresses"]
    if expected["kind"] in ("hard", "soft"):
        assert verdict.nature is Nature.BOUNCE
        assert {f.severity.value for f in verdict.failures} == {expected["kind"]}
    else:
        assert verdict.nature.value == expected["kind"]


def test_every_sample_has_an_expectation_and_at_least_100_are_bounces() -> None:
    assert sorted(p.name for p in SAMPLES.glob("*.txt")) == sorted(EXPECTED)
    bounces = [e for e in EXPECTED.values() if e["kind"] in ("hard", "soft") and e["addresses"]]
    assert len(bounces) >= 100
    assert {e["kind"] for e in bounces} == {"hard", "soft"}


# --- RFC 3464 -----------------------------------------------------------------------------------


def test_a_dsn_gives_recipient_status_and_diagnostic() -> None:
    raw = build_dsn(ORIGINAL, to=verp(7), recipient="Reader@Example.org")
    [status] = dsn.recipient_statuses(parse_message(raw))
    assert (status.address, status.action, status.status) == (
        "Reader@Example.org",
        "failed",
        "5.1.1",
    )
    assert status.diagnostic.startswith("550 5.1.1 <Reader@Example.org>: Recipient address")
    [failure] = classify(parse_message(raw)).failures
    assert (failure.severity, failure.status) == (Severity.HARD, "5.1.1")


@pytest.mark.parametrize(
    ("action", "status", "diagnostic", "expected"),
    [
        ("failed", "5.1.1", "", Severity.HARD),
        ("failed", "5.2.1", "", Severity.HARD),  # mailbox disabled
        ("failed", "5.2.2", "", Severity.SOFT),  # mailbox full
        ("failed", "5.7.1", "", Severity.SOFT),  # policy: a filter blocked us
        ("failed", "4.4.7", "", Severity.SOFT),  # gave up retrying a temporary failure
        ("delayed", "5.0.0", "", None),  # a delay is a notice, never a failure
        ("delayed", "4.4.1", "smtp; 421 busy", None),
        ("failed", "5.0.0", "smtp; 550 5.1.1 no such user", Severity.HARD),
        ("failed", "5.0.0", "smtp; 452 4.2.2 over quota", Severity.SOFT),
        ("failed", "5.0.0", "smtp; 550 User account is overquota", Severity.SOFT),
        ("failed", "", "smtp; 550 unknown user", Severity.HARD),
        ("failed", "", "smtp; 421 try again later", Severity.SOFT),
        ("failed", "", "", Severity.HARD),
        ("error", "", "", Severity.HARD),  # OpenSMTPD
        ("delivered", "2.0.0", "", None),
        ("relayed", "2.0.0", "", None),
        ("expanded", "2.0.0", "", None),
    ],
)
def test_hard_or_soft_from_action_status_and_diagnostic(
    action: str, status: str, diagnostic: str, expected: Severity | None
) -> None:
    found = dsn.RecipientStatus("x@example.org", action, status or None, diagnostic)
    assert dsn.severity_of(found) is expected


def test_a_success_dsn_is_a_notice_not_a_bounce() -> None:
    raw = build_dsn(ORIGINAL, to=verp(7), recipient="r@example.org", action="delivered")
    verdict = classify(parse_message(raw))
    assert (verdict.nature, verdict.failures) == (Nature.NOTICE, ())
    assert [(n.address, n.action) for n in verdict.notices] == [("r@example.org", "delivered")]


def test_status_codes_in_text_skip_versions_and_addresses() -> None:
    assert dsn.enhanced_code("host 10.5.1.1 said: 550 5.1.1 unknown") == "5.1.1"
    assert dsn.enhanced_code("RELEASED Mailman 2.0.12") is None
    assert dsn.enhanced_code("Exim 4.92.3.1") is None


def test_the_returned_newsletter_is_not_searched_for_clues() -> None:
    text = "Sorry, no mailbox here.\n--- Below this line is a copy of the message.\nquota 4.2.2"
    msg = parse_message(b"Subject: failure notice\n\n" + text.encode())
    assert notification_text(msg) == "Sorry, no mailbox here.\n"


# --- RFC 5965, RFC 3834 -------------------------------------------------------------------------


def test_a_feedback_report_is_a_complaint_naming_our_addresses() -> None:
    original = b"Return-Path: <" + verp(9).encode() + b">\r\n"
    original += b"List-Unsubscribe: <https://x.example/u/1>,\r\n <mailto:" + mailto(3, 1).encode()
    original += b"?subject=unsubscribe>\r\n" + ORIGINAL
    verdict = classify(parse_message(build_arf(original, to="fbl@" + DOMAIN, mail_from=verp(8))))
    assert verdict.nature is Nature.COMPLAINT and verdict.parser == "arf"
    assert verdict.candidates == (verp(8), verp(9), mailto(3, 1))
    assert "redacted@example.org" in verdict.reason


def test_feedback_that_is_not_a_complaint_is_other() -> None:
    raw = build_arf(ORIGINAL, to="fbl@" + DOMAIN, mail_from=verp(8), feedback_type="not-spam")
    assert classify(parse_message(raw)).nature is Nature.OTHER


@pytest.mark.parametrize(
    "subject",
    ["Risposta automatica: Cronache", "Fuori sede", "Out of Office: Cronache", "Automatic reply"],
)
def test_out_of_office_subjects_are_auto_replies(subject: str) -> None:
    verdict = classify(parse_message(build_auto_reply(verp(1), subject)))
    assert verdict.nature is Nature.AUTO_REPLY


@pytest.mark.parametrize(
    "header", ["X-Autoreply: yes", "Precedence: auto_reply", "Auto-Submitted: auto-replied"]
)
def test_auto_reply_headers(header: str) -> None:
    raw = f"From: a@example.org\nSubject: Re: Cronache\n{header}\n\nThanks!\n".encode()
    assert classify(parse_message(raw)).nature is Nature.AUTO_REPLY


def test_a_bounce_with_auto_submitted_is_still_a_bounce() -> None:
    raw = (SAMPLES / "simple_41.txt").read_bytes()  # Auto-Submitted: auto-replied, and a failure
    assert classify(parse_message(raw)).nature is Nature.BOUNCE


def test_a_person_writing_back_is_other() -> None:
    raw = b"From: a@example.org\nSubject: Re: Cronache n. 44\n\nBell'articolo!\n"
    assert classify(parse_message(raw)).nature is Nature.OTHER


def test_bytes_that_are_not_mail_are_unparsable() -> None:
    with pytest.raises(BounceError):
        parse_message(b"\x00\x01 this is not an email\n")


# --- VERP and decisions -------------------------------------------------------------------------


def test_our_addresses_are_recognised_whatever_the_case() -> None:
    found = our_address(f"<{verp(12).upper()}>", DOMAINS)
    assert found is not None and verify(found, SIGNER) == DeliveryRef(12)
    assert our_address(verp(12).replace(DOMAIN, "other.example"), DOMAINS) is None
    assert our_address("postmaster@" + DOMAIN, DOMAINS) is None
    assert our_address(verp(12).replace(DOMAIN, "other.example"), None) is not None


def test_tokens_verify_only_for_their_purpose_and_keys() -> None:
    other_key = Signer(["someone-else"])
    assert verify(our_address(verp(5, other_key), DOMAINS), SIGNER) is None  # type: ignore[arg-type]
    wrong_purpose = f"b-{SIGNER.sign(Purpose.UNSUBSCRIBE, 5, 1)}@{DOMAIN}"
    assert verify(our_address(wrong_purpose, DOMAINS), SIGNER) is None  # type: ignore[arg-type]
    rotated = Signer(["new-key", "test-secret-key"])  # mail sent before the rotation
    found = our_address(mailto(3, 1), DOMAINS)
    assert found is not None and verify(found, rotated) == SubscriptionRef(3, 1)


def _decide(raw: bytes, recipient: str | None) -> object:
    return decide(read_message(raw, recipient, DOMAINS), SIGNER, DOMAINS)


def test_a_bounce_to_a_verified_verp_address_names_the_delivery() -> None:
    decision = _decide(build_dsn(ORIGINAL, to=verp(7), recipient="r@example.org"), verp(7))
    assert isinstance(decision, Bounce) and decision.delivery_id == 7
    assert intended(decision) is Outcome.HARD


def test_a_stored_bounce_is_matched_by_its_to_header() -> None:
    decision = _decide(build_dsn(ORIGINAL, to=verp(7), recipient="r@example.org"), None)
    assert isinstance(decision, Bounce) and decision.delivery_id == 7


def test_a_forged_token_is_ignored() -> None:
    forged = verp(7).replace("b-", "b-00", 1)
    decision = _decide(build_dsn(ORIGINAL, to=forged, recipient="r@example.org"), forged)
    assert isinstance(decision, Ignore) and decision.outcome is Outcome.FORGED


def test_a_bounce_without_a_verp_address_is_unmatched() -> None:
    raw = build_dsn(ORIGINAL, to="cronache@cittametropolitana.torino.it", recipient="r@x.org")
    decision = _decide(raw, None)
    assert isinstance(decision, Ignore) and decision.outcome is Outcome.UNMATCHED
    assert "r@x.org" in decision.reason


def test_mail_to_the_unsubscribe_address_unsubscribes_and_a_complaint_finds_its_sender() -> None:
    decision = _decide(build_unsubscribe_mail(mailto(3, 1)), mailto(3, 1))
    assert decision == Unsubscribe(SubscriptionRef(3, 1))
    complaint = _decide(build_arf(ORIGINAL, to="fbl@" + DOMAIN, mail_from=verp(8)), None)
    assert isinstance(complaint, Complaint) and complaint.target == DeliveryRef(8)


def test_auto_replies_to_our_verp_address_are_ignored() -> None:
    decision = _decide(build_auto_reply(verp(7)), verp(7))
    assert isinstance(decision, Ignore) and decision.outcome is Outcome.AUTO_REPLY


# --- Edges --------------------------------------------------------------------------------------


def test_sources_read_mbox_maildir_and_single_files(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for name in ("dsn_01.txt", "qmail_01.txt"):
        box.add((SAMPLES / name).read_bytes())
    box.close()
    folder = mailbox.Maildir(tmp_path / "Maildir")
    folder.add((SAMPLES / "yahoo_01.txt").read_bytes())
    paths = [tmp_path / "bounces.mbox", tmp_path / "Maildir", SAMPLES / "aol_01.txt"]
    found = list(read_sources(paths))
    origins = [origin.replace(str(tmp_path), "") for origin, _ in found]
    assert origins[:2] == ["/bounces.mbox#1", "/bounces.mbox#2"]
    assert origins[2].startswith("/Maildir/") and origins[3].endswith("aol_01.txt")
    addresses = [{f.address for f in classify(parse_message(raw)).failures} for _, raw in found]
    assert addresses == [
        {"userx@example.com"},
        {"userx@example.de"},
        {"userx@example.com"},
        {"screenname@aol.com"},
    ]
    with pytest.raises(BounceError, match="not a Maildir"):
        list(read_sources([tmp_path]))


def test_the_summary_counts_every_outcome() -> None:
    summary = Summary()
    for outcome in (Outcome.HARD, Outcome.HARD, Outcome.FORGED):
        summary.add(outcome)
    assert summary.total == 3 and summary.counts()[Outcome.HARD] == 2
    assert summary.lines()[0].split() == ["hard", "bounces", "2"]


def test_the_suppression_hmac_is_keyed_and_ignores_case() -> None:
    assert email_hmac("k", " Reader@Example.org") == email_hmac("k", "reader@example.org")
    assert email_hmac("k", "reader@example.org") != email_hmac("k2", "reader@example.org")
    assert len(email_hmac("k", "reader@example.org")) == 64


def test_the_package_exports_are_sorted_and_importable() -> None:
    import dispatcher.bounces as package

    assert package.__all__ == sorted(package.__all__)
    assert all(hasattr(package, name) for name in package.__all__)
