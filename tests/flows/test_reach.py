"""Reach without tracking against PostgreSQL, through the real app.

The counting redirect answers 303 to the edition's own link and counts it, sets no
cookie, and refuses what is not one of the edition's links (404, nothing counted); the
web version counts a view; unsubscribes fall in the window of the edition they followed;
the edition's page and ``/metrics`` show the figures; the privacy notice says so.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.config import Settings
from dispatcher.editions.model import Edition as EditionContent
from dispatcher.editions.newsletter import load_newsletter_settings
from dispatcher.models import Edition, EditionClicks, EditionViews, Send
from dispatcher.office.edition_store import add_edition, read_source
from dispatcher.render.reach import edition_links, link_key
from subscribers.models import MailingList, Subscription
from subscribers.service import create_list
from tests.support.admin import Desk
from tests.support.data import EDITION_FILE, NEWSLETTER_FILE, add_subscribers

PUBLIC = "https://newsletter.example.org"
FIRST_SEND = dt.datetime(2026, 11, 6, 9, 0, tzinfo=dt.UTC)
SECOND_SEND = FIRST_SEND + dt.timedelta(days=7)


def add_sent(sessions: sessionmaker[Session], settings: Settings, number: int,
             started: dt.datetime | None) -> int:  # fmt: skip
    source = read_source(EDITION_FILE).replace("number: 44", f"number: {number}")
    with sessions.begin() as session:
        edition = add_edition(session, source, f"n{number}.md", settings)
        if started is not None:
            session.add(Send(edition_id=edition.id, state="finished", scheduled_at=started,
                             started_at=started, finished_at=started))  # fmt: skip
        return edition.id


@pytest.fixture
def reach_list(pg_sessions: sessionmaker[Session]) -> int:
    """The example newsletter with ``reach = true``."""
    settings = {**load_newsletter_settings(NEWSLETTER_FILE).to_dict(), "reach": True}
    with pg_sessions.begin() as session:
        return create_list(session, "cronache", "Cronache da Palazzo Cisterna", settings).id


@pytest.fixture
def editions(desk: Desk, reach_list: int) -> tuple[int, int]:
    first = add_sent(desk.sessions, desk.settings, 44, FIRST_SEND)
    return first, add_sent(desk.sessions, desk.settings, 45, SECOND_SEND)


@pytest.fixture
def http(desk: Desk) -> Iterator[TestClient]:
    with desk.client() as logged:
        yield logged.http


def clicks(sessions: sessionmaker[Session], edition_id: int) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(
            select(EditionClicks.link_key, EditionClicks.clicks).where(
                EditionClicks.edition_id == edition_id
            )
        )
        return {key: count for key, count in rows}


def own_links(sessions: sessionmaker[Session], edition_id: int) -> tuple[str, ...]:
    with sessions() as session:
        return edition_links(EditionContent.from_dict(session.get_one(Edition, edition_id).content))


def path(sessions: sessionmaker[Session], edition_id: int, number: int, place: int) -> str:
    """The counted address of the edition's link at ``place``, as the email has it."""
    return f"/r/cronache/{number}/{link_key(own_links(sessions, edition_id)[place])}"


def test_the_stored_edition_links_to_the_redirect(desk: Desk, editions: tuple[int, int]) -> None:
    cover = path(desk.sessions, editions[0], 44, 0)
    with desk.sessions() as session:
        stored = session.get_one(Edition, editions[0])
        assert f'href="{PUBLIC}{cover}"' in stored.html
        assert f"<{PUBLIC}{cover}>" in stored.text


def test_a_click_is_counted_and_answered_303_to_the_link_without_a_cookie(
    desk: Desk, editions: tuple[int, int], http: TestClient
) -> None:
    links = own_links(desk.sessions, editions[0])
    second = path(desk.sessions, editions[0], 44, 1)
    answer = http.get(second)
    assert answer.status_code == 303
    assert answer.headers["location"] == links[1]
    assert "set-cookie" not in answer.headers and not http.cookies
    assert answer.headers["cache-control"] == "no-store"
    http.get(second)
    http.get(path(desk.sessions, editions[0], 44, 0))
    assert clicks(desk.sessions, editions[0]) == {link_key(links[0]): 1, link_key(links[1]): 2}
    assert clicks(desk.sessions, editions[1]) == {}


def test_what_is_not_one_of_the_editions_links_is_refused_and_not_counted(
    desk: Desk, editions: tuple[int, int], http: TestClient
) -> None:
    cover = path(desk.sessions, editions[0], 44, 0)
    key = cover.rsplit("/", 1)[1]
    foreign = link_key("https://evil.example/")
    for refused in (f"/r/cronache/44/{foreign}", f"/r/cronache/46/{key}", f"/r/altra/44/{key}"):
        assert http.get(refused).status_code == 404, refused
    for malformed in ("/r/cronache/44/0", "/r/cronache/44/https%3A%2F%2Fevil.example"):
        assert http.get(malformed).status_code in (400, 404, 422), malformed
    # A URL in the query is ignored: the answer leads to the edition's own link only.
    answer = http.get(cover, params={"url": "https://evil.example"})
    assert answer.headers["location"] == own_links(desk.sessions, editions[0])[0]
    assert clicks(desk.sessions, editions[0]) == {key: 1}


def test_each_web_version_view_is_counted(
    desk: Desk, editions: tuple[int, int], http: TestClient
) -> None:
    for _ in range(3):
        assert http.get("/archive/cronache/45").status_code == 200
    assert http.get("/archive/cronache/46").status_code == 404
    with desk.sessions() as session:
        rows = session.execute(select(EditionViews.edition_id, EditionViews.views))
        views = {edition_id: count for edition_id, count in rows}
    assert views == {editions[1]: 3}


def unsubscribed_at(sessions: sessionmaker[Session], list_id: int, *times: dt.datetime) -> None:
    with sessions.begin() as session:
        ids = add_subscribers(session, list_id, len(times), start=100)
        for subscriber, when in zip(ids, times, strict=True):
            session.execute(
                update(Subscription)
                .where(Subscription.subscriber_id == subscriber)
                .values(status="unsubscribed", unsubscribed_at=when)
            )


def test_unsubscribes_are_counted_in_the_window_of_the_edition_they_followed(
    desk: Desk, editions: tuple[int, int], reach_list: int
) -> None:
    hour = dt.timedelta(hours=1)
    before, after_first = FIRST_SEND - hour, FIRST_SEND + hour
    unsubscribed_at(desk.sessions, reach_list, before, after_first, after_first,
                    SECOND_SEND - hour, SECOND_SEND + hour)  # fmt: skip
    with desk.client("operator") as logged:
        first = logged.http.get(f"/admin/editions/{editions[0]}").text
        second = logged.http.get(f"/admin/editions/{editions[1]}").text
    assert re.search(r'id="reach-unsubscribes">[^<]*: 3<', first)
    assert re.search(r'id="reach-unsubscribes">[^<]*: 1<', second)


def test_the_editions_page_shows_clicks_per_link_and_views(
    desk: Desk, editions: tuple[int, int]
) -> None:
    links = own_links(desk.sessions, editions[0])
    with desk.client("operator") as logged:
        logged.http.get(path(desk.sessions, editions[0], 44, 2))
        logged.http.get("/archive/cronache/44")
        page = logged.http.get(f"/admin/editions/{editions[0]}").text
    rows = re.findall(r"<tr><td><a [^>]*>([^<]+)</a></td><td>(\d+)</td></tr>", page)
    assert [link.replace("&amp;", "&") for link, _ in rows] == list(links)
    assert [int(count) for _, count in rows] == [0, 0, 1] + [0] * (len(links) - 3)
    assert re.search(r'id="reach-views">[^<]*: 1<', page)


def test_metrics_show_each_editions_figures(desk: Desk, editions: tuple[int, int]) -> None:
    with TestClient(desk.app, base_url="https://testserver", client=("127.0.0.1", 50000)) as local:
        local.get(path(desk.sessions, editions[1], 45, 0))
        local.get(path(desk.sessions, editions[1], 45, 1))
        local.get("/archive/cronache/45")
        text = local.get("/metrics").text
    assert f'dispatcher_edition_clicks{{edition_id="{editions[1]}"}} 2.0' in text
    assert f'dispatcher_edition_clicks{{edition_id="{editions[0]}"}} 0.0' in text
    assert f'dispatcher_edition_web_views{{edition_id="{editions[1]}"}} 1.0' in text
    assert f'dispatcher_edition_unsubscribes_after{{edition_id="{editions[1]}"}} 0.0' in text


def test_the_privacy_notice_says_what_is_counted_while_reach_is_on(
    desk: Desk, reach_list: int, http: TestClient
) -> None:
    assert "non registriamo chi ha cliccato" in http.get("/privacy").text
    assert "we do not record who clicked" in http.get("/privacy?lang=en").text
    with desk.sessions.begin() as session:
        row = session.get_one(MailingList, reach_list)
        row.settings = {**row.settings, "reach": False}
    assert "cliccato" not in http.get("/privacy").text
