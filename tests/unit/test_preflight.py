"""Preflight: each check against small pieces of HTML, and the example edition as a whole.

The checks are pure, so most tests are too. SpamAssassin is Debian's, run for
real (the Makefile installs it); the online link check talks to a server on
127.0.0.1; one test runs the whole preflight of a stored edition on SQLite.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.cli.main import cli
from dispatcher.config import Settings
from dispatcher.editions import load_newsletter_settings
from dispatcher.editions.newsletter import Colours
from dispatcher.editions.parse import parse_edition
from dispatcher.message.personalise import Personaliser, Recipient
from dispatcher.message.slots import Slot
from dispatcher.message.template import MessageContent, build_template, format_date
from dispatcher.preflight import (
    Finding,
    PreflightReport,
    check_compiled,
    online,
    run_preflight,
    spam,
    styles,
)
from dispatcher.render import EditionLinks, compile_edition
from subscribers.tokens import Signer
from tests.support.data import EDITION_FILE, NEWSLETTER_FILE, add_example_edition, create_newsletter

PUBLIC = "https://newsletter.example.org"
NEWSLETTER = load_newsletter_settings(NEWSLETTER_FILE)
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


@dataclasses.dataclass(frozen=True)
class Sample:
    html: str
    text: str
    eml: bytes


def _sample(replace: dict[str, str] | None = None) -> Sample:
    """The example edition as one recipient gets it (what ``compose.preview`` builds)."""
    source = EDITION_FILE.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        source = source.replace(old, new)
    edition = parse_edition(source, str(EDITION_FILE))
    compiled = compile_edition(
        edition, NEWSLETTER, EditionLinks.for_edition(PUBLIC, "cronache", edition.number)
    )
    content = MessageContent(
        subject=compiled.subject, text=compiled.text, html=compiled.html,
        from_name=NEWSLETTER.from_name, from_address=NEWSLETTER.from_address,
        reply_to=NEWSLETTER.reply_to, list_name=NEWSLETTER.name,
        list_identifier=NEWSLETTER.list_id, unsubscribe_url_prefix=f"{PUBLIC}/u/",
        unsubscribe_mailto_domain="bounces.example.org", archive_url=f"{PUBLIC}/archive/cronache",
    )  # fmt: skip
    personaliser = Personaliser(build_template(content, "seed"), Signer(["k"]), 1, "b.example.org")
    eml = personaliser.message(Recipient(1, 1, 1, "m.r@example.org", "Mario"), format_date(0)).data
    tokens = {Slot.UNSUBSCRIBE_TOKEN.sentinel: "0a1b2c", Slot.PREFERENCES_TOKEN.sentinel: "3d4e5f"}
    html, text = compiled.html, compiled.text
    for sentinel, token in tokens.items():
        html, text = html.replace(sentinel, token), text.replace(sentinel, token)
    return Sample(html, text, eml)


@pytest.fixture
def sample() -> Sample:
    return _example()


def _page(body: str, lang: str = "it") -> str:
    head = "<!doctype html><head><title>x</title></head>"
    return f'<html lang="{lang}">{head}<body>{body}</body></html>'


@functools.cache
def _example() -> Sample:
    return _sample()


def _check(html: str, text: str | None = None, eml: bytes | None = None) -> PreflightReport:
    """Check ``html`` with the example's text part and message unless others are given."""
    base = _example()
    return check_compiled(html, base.text if text is None else text, eml or base.eml, NEWSLETTER)


def _codes(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings}


# -- the example edition -----------------------------------------------------------------------


def test_the_example_edition_passes_every_check(sample: Sample) -> None:
    report = check_compiled(sample.html, sample.text, sample.eml, NEWSLETTER)
    assert report.errors == [] and report.warnings == []
    assert report.ok


def test_spamassassin_finds_nothing_wrong_with_the_example(sample: Sample) -> None:
    report = spam.check_spam(sample.eml)
    assert report.errors == [] and report.warnings == []


# -- size, language, images, links -------------------------------------------------------------


def test_html_over_gmails_clipping_size_is_an_error_and_close_to_it_a_warning(
    sample: Sample,
) -> None:
    padding = "<!-- " + "x" * 1000 + " -->"
    big = sample.html.replace("</body>", padding * 80 + "</body>")
    near = sample.html.replace("</body>", padding * 65 + "</body>")
    assert "html.size" in _codes(_check(big).errors)
    report = _check(near)
    assert "html.size" in _codes(report.warnings) and not report.errors


def test_html_without_lang_is_an_error_and_another_language_a_warning() -> None:
    missing = _check("<html><body><p>Ciao a tutti</p></body></html>")
    assert "html.lang" in _codes(missing.errors)
    assert "html.lang" in _codes(_check(_page("<p>Hello</p>", lang="en")).warnings)
    assert "html.lang" not in _check(_page("<p>Ciao</p>", lang="it-IT")).codes()


def test_images_need_alt_text_and_a_width() -> None:
    report = _check(
        _page(
            '<img src="https://x.example.org/a.png" width="100">'
            '<img src="https://x.example.org/b.png" alt="Il logo">'
            '<a href="https://x.example.org/">'
            '<img src="https://x.example.org/c.png" alt="" width="9"></a>'
            '<img src="https://x.example.org/decoration.png" alt="" width="9">'
            '<div style="display:none"><img src="https://x.example.org/hidden.png"></div>'
        )
    )
    errors = [f for f in report.errors if f.code == "image.alt"]
    assert [f.where for f in errors] == ["image https://x.example.org/a.png"]
    warnings = {(f.code, f.where) for f in report.warnings if f.code.startswith("image.")}
    assert warnings == {
        ("image.width", "image https://x.example.org/b.png"),
        ("image.alt", "image https://x.example.org/c.png"),
    }


@pytest.mark.parametrize(
    ("href", "code"),
    [
        ("javascript:alert(1)", "link.scheme"),
        ("ftp://files.example.org/a", "link.scheme"),
        ("/archivio/44", "link.scheme"),
        ("#top", "link.scheme"),
        ("", "link.malformed"),
        ("https://", "link.malformed"),
        ("https://localhost/x", "link.malformed"),
        ("https://www.example.org:99999/", "link.malformed"),
        ("https://www.example.org/a b", "link.malformed"),
        ("https://www.example.org/{{ link }}", "link.malformed"),
        ("mailto:nobody", "link.malformed"),
        ("https://www.cittametropolitana.torino.it/cms/", None),
        ("http://www.example.org/?a=1&b=2", None),
        ("mailto:urp@cittametropolitana.torino.it?subject=Cronache", None),
        ("https://città.example.it/", None),
    ],
)
def test_links_must_be_well_formed_http_or_mailto(href: str, code: str | None) -> None:
    report = _check(_page(f'<p><a href="{href}">Leggi</a></p>'))
    found = {f.code for f in report.errors if f.code.startswith("link.")}
    assert found == ({code} if code else set())
    if code:
        assert next(f for f in report.errors if f.code == code).where == 'link "Leggi"'


# -- the plain-text part -----------------------------------------------------------------------


def test_a_text_part_that_lost_a_paragraph_is_reported_with_examples(sample: Sample) -> None:
    paragraph = "Un lavoro che, condotto con il supporto metodologico"
    start = sample.text.index(paragraph)
    end = sample.text.index("\n\n", start)
    report = _check(sample.html, text=sample.text[:start] + sample.text[end:])
    warning = next(f for f in report.warnings if f.code == "text.missing_words")
    assert '"metodologico"' in warning.message and warning.where == "text"
    assert not report.errors


def test_a_link_missing_from_the_text_part_is_reported(sample: Sample) -> None:
    url = "https://www.cittametropolitana.torino.it/cms/comunicazione/cronache/2024/44/natale-stupinigi"
    report = _check(sample.html, text=sample.text.replace(url, "(link)"))
    warning = next(f for f in report.warnings if f.code == "text.missing_links")
    assert url in warning.message


# -- contrast ----------------------------------------------------------------------------------


def test_text_in_low_contrast_colours_is_an_error() -> None:
    report = _check(
        _page(
            '<div style="background-color:#ffffff">'
            '<p style="color:#aaaaaa;font-size:14px">Grigio chiaro su bianco</p>'
            '<p style="color:#1f1f1f">Leggibile</p></div>'
        )
    )
    errors = [f for f in report.errors if f.code == "contrast.low"]
    assert len(errors) == 1
    assert "#aaaaaa on #ffffff" in errors[0].message and "Grigio chiaro" in errors[0].message


def test_large_bold_text_needs_only_three_to_one() -> None:
    # #767676 on white is 4.54:1; #8a8a8a is 3.45:1, enough for large text only.
    large = '<h1 style="color:#8a8a8a;font-size:20px;font-weight:bold">Titolo</h1>'
    small = '<p style="color:#8a8a8a;font-size:14px">Testo</p>'
    assert not _check(_page(f'<div bgcolor="#ffffff">{large}</div>')).errors
    assert "contrast.low" in _codes(_check(_page(f'<div bgcolor="#fff">{small}</div>')).errors)


def test_hidden_text_and_undeterminable_backgrounds_are_not_judged() -> None:
    hidden = '<div style="display:none;color:#ffffff;background:#ffffff">Anteprima</div>'
    unknown = '<p style="color:#eeeeee">Sfondo sconosciuto</p>'
    image = (
        '<div style="background-color:#ffffff"><div style="background:#fff url(x.png)">'
        '<p style="color:#eeeeee">Su immagine</p></div></div>'
    )
    assert not _check(_page(hidden + unknown + image)).errors


def test_the_newsletters_own_colours_are_checked() -> None:
    pale = dataclasses.replace(NEWSLETTER, colours=Colours(muted="#bbbbbb"))
    base = _example()
    report = check_compiled(base.html, base.text, base.eml, pale)
    finding = next(f for f in report.errors if f.code == "contrast.low")
    assert finding.where == "newsletter colours.muted"


@pytest.mark.parametrize(
    ("value", "colour"),
    [
        ("#FFF", "#ffffff"),
        ("#1c4f82", "#1c4f82"),
        ("rgb(28, 79, 130)", "#1c4f82"),
        ("rgba(0,0,0,1)", "#000000"),
        ("rgba(0,0,0,0.5)", None),
        ("White", "#ffffff"),
        ("inherit", None),
        ("transparent", None),
    ],
)
def test_css_colours_are_read_when_they_are_opaque(value: str, colour: str | None) -> None:
    assert styles.parse_colour(value) == colour


# -- headers -----------------------------------------------------------------------------------


def test_a_message_without_one_click_unsubscribe_is_an_error(sample: Sample) -> None:
    head, _, body = sample.eml.partition(b"\r\n\r\n")
    kept = [line for line in head.split(b"\r\n") if not line.startswith(b"List-Unsubscribe-Post")]
    report = _check(sample.html, eml=b"\r\n".join(kept) + b"\r\n\r\n" + body)
    assert _codes(report.errors) == {"header.list_unsubscribe_post"}
    bare = b"From: a@example.org\r\nSubject: x\r\n\r\nhi\r\n"
    assert {"header.list_unsubscribe", "header.list_unsubscribe_post"} <= _codes(
        _check(sample.html, eml=bare).errors
    )
    assert "header.list_id" in _codes(_check(sample.html, eml=bare).warnings)


# -- SpamAssassin ------------------------------------------------------------------------------


def test_spamassassin_calls_a_spam_message_an_error() -> None:
    message = (
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: offer\r\n\r\n" + GTUBE + "\r\n"
    ).encode()
    report = spam.check_spam(message)
    finding = next(f for f in report.errors if f.code == "spam.score")
    assert "GTUBE" in finding.message


def test_a_missing_spamassassin_is_a_warning_not_an_error(tmp_path: Path) -> None:
    report = spam.check_spam(b"Subject: x\r\n\r\nhi\r\n", executable=str(tmp_path / "none"))
    assert _codes(report.warnings) == {"spam.unavailable"} and not report.errors


def test_the_score_decides_between_warning_and_error() -> None:
    assert spam.judge(spam.SpamResult(2.9, ())).codes() == set()
    assert _codes(spam.judge(spam.SpamResult(3.4, ("X",))).warnings) == {"spam.score"}
    assert _codes(spam.judge(spam.SpamResult(5.0, ("X",))).errors) == {"spam.score"}


def test_the_spam_status_header_is_read_even_when_folded() -> None:
    output = (
        b"X-Spam-Status: No, score=-0.3 required=5.0 tests=HTML_MESSAGE,\r\n"
        b"\tNO_RECEIVED,NO_RELAYS autolearn=unavailable version=4.0.1\r\n"
        b"Subject: x\r\n\r\nbody\r\n"
    )
    result = spam.parse_spam_status(output)
    assert result == spam.SpamResult(-0.3, ("HTML_MESSAGE", "NO_RECEIVED", "NO_RELAYS"))
    assert spam.parse_spam_status(b"Subject: x\r\n\r\nbody") is None


# -- the optional online check -----------------------------------------------------------------


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200 if self.path == "/ok" else 405 if self.path == "/get" else 404)
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200 if self.path in ("/ok", "/get") else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_online_check_reports_links_that_do_not_answer(web_server: str) -> None:
    urls = [f"{web_server}/ok", f"{web_server}/get", f"{web_server}/missing", "mailto:a@b.org"]
    report = online.check_links_online(urls, timeout=5)
    assert [(f.code, f.where) for f in report.warnings] == [
        ("link.unreachable", f"{web_server}/missing")
    ]
    assert "404" in report.warnings[0].message
    assert online.link_status("file:///etc/passwd") == "not an http(s) address"


# -- the whole preflight of a stored edition ---------------------------------------------------


@pytest.fixture
def stored_edition(sqlite_sessions: sessionmaker[Session]) -> tuple[Settings, int]:
    settings = Settings(database_url="sqlite://", secret_keys=("k",), public_url=PUBLIC)
    with sqlite_sessions.begin() as session:
        create_newsletter(session)
        return settings, add_example_edition(session, settings)


def test_run_preflight_builds_the_sample_and_runs_every_check(
    sqlite_sessions: sessionmaker[Session], stored_edition: tuple[Settings, int]
) -> None:
    settings, edition_id = stored_edition
    started = time.monotonic()
    with sqlite_sessions() as session:
        report = run_preflight(session, edition_id, settings)
    assert report.errors == [] and report.warnings == []
    assert time.monotonic() - started < 30
    with sqlite_sessions() as session, pytest.raises(Exception, match="no edition"):
        run_preflight(session, 999, settings)


def test_dispatcher_preflight_prints_the_findings(
    sqlite_url: str, stored_edition: tuple[Settings, int]
) -> None:
    env = {"DATABASE_URL": sqlite_url, "SECRET_KEY": "k", "PUBLIC_URL": PUBLIC}
    result = CliRunner().invoke(
        cli, ["preflight", str(stored_edition[1]), "--no-spamassassin"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output
