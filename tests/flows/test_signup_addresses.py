"""The sign-up form applies the import's rule: an international domain is one person.

Typed in Unicode or in punycode, an address with an international domain is stored
once, as its A-label, and its confirmation mail goes out as plain ASCII.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from subscribers.models import Subscriber
from tests.flows import test_public_pages as pages
from tests.smtpd import SmtpServer

# The public pages' app and client, shared rather than copied (smtpd is the conftest's).
app, client = pages.app, pages.client
DONE, sign_up = pages.DONE, pages.sign_up


def test_an_international_domain_signs_up_once_as_an_a_label(
    client: TestClient, smtpd: SmtpServer, pg_sessions: sessionmaker[Session]
) -> None:
    assert DONE in sign_up(client, "Lettore@BÜCHER.de").text
    assert DONE in sign_up(client, "lettore@xn--bcher-kva.de").text
    with pg_sessions() as session:
        stored = session.scalars(select(Subscriber.email)).all()
    assert stored == ["Lettore@xn--bcher-kva.de"]
    assert smtpd.wait_for(2)
    assert {m.rcpt_tos for m in smtpd.accepted} == {("Lettore@xn--bcher-kva.de",)}
