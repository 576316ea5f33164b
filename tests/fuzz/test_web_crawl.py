"""Every route of the web app, fed hostile paths and garbage bodies, anonymous and logged in.

The routes are read from the app itself, so a route added later is crawled too. Path
parameters get huge and negative numbers, unicode, ``../``, encoded NUL and overlong
tokens; POST routes get empty, malformed, oversized and mistyped bodies (with the
session's CSRF token, so the garbage reaches the handlers). Whatever comes back must
not be a server error or show a Python traceback, and outside the JSON API an error
is an HTML page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from tests.fuzz.conftest import Site
from tests.support.admin import csrf_of, log_in

#: Path segments as they go on the wire (already percent-encoded where needed).
HOSTILE_SEGMENTS = (
    "0",
    "-1",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999999999999999",
    "1e3",
    "0x10",
    "1.5",
    "%201",
    "abc",
    "null",
    "%00",
    "%FF",
    "%C3%28",
    "..",
    "%2e%2e",
    "..%2F..%2Fetc%2Fpasswd",
    "....%2F%2F",
    "..%5C..%5Cwindows",
    "%0D%0ASet-Cookie:%20x=1",
    quote("<script>alert(1)</script>", safe=""),
    quote("{{ 7*7 }}", safe=""),
    quote("Città 😀 \u202e", safe=""),
    quote("'\"`;--", safe=""),
    "ZqSLOTUNSUBx7Kq9w",
    "f" * 64,
    "0" * 65,
    "a" * 5000,
)
#: Values for query strings and form fields.
HOSTILE_VALUES = (
    "",
    "-1",
    "99999999999999999999999999999999",
    "\x00",
    "../../etc/passwd",
    "//evil.example.org/",
    "/\\evil.example.org",
    "javascript:alert(1)",
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "Città 😀 \u202e",
    "a" * 20_000,
    "2024-02-30T25:61",
    "true",
)
QUERY = "&".join(
    f"{name}={quote(value, safe='')}"
    for name, value in zip(
        ("lang", "next", "recent", "lista", "at", "page", "q", "x"),
        HOSTILE_VALUES[1:],
        strict=False,
    )
)
TRAVERSALS = (
    "/static/..%2F..%2F..%2Fpyproject.toml",
    "/static/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
    "/static/..\\..\\..\\pyproject.toml",
    "/static/%00",
    "/images/1/..%2F..%2Fpyproject.toml",
)
#: Mounted folders, not routes: the static files get the TRAVERSALS instead.
NOT_CRAWLED = ("/static",)
FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}


@dataclass
class Findings:
    """Every answer that broke a rule, so one run shows them all."""

    problems: list[str] = field(default_factory=list)

    def check(self, method: str, url: str, answer: httpx.Response) -> None:
        where = f"{method} {url[:120]} -> {answer.status_code}"
        body = answer.text
        if answer.status_code >= 500:
            self.problems.append(f"{where}: server error {body[:200]!r}")
        if "Traceback" in body or 'File "/' in body:
            self.problems.append(f"{where}: shows a traceback")
        path = urlsplit(url).path
        error_page = answer.status_code >= 400 and not path.startswith(("/api/", "/metrics"))
        if error_page and not answer.headers.get("content-type", "").startswith("text/html"):
            self.problems.append(f"{where}: error is {answer.headers.get('content-type')}")


def routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """(method, path, route) of every route the app answers."""
    for context in iter_route_contexts(app.routes):
        route = context.route
        if not isinstance(route, APIRoute) or route.path.startswith(NOT_CRAWLED):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            yield method, route.path, route


def paths(path: str, values: dict[str, str], hostile: tuple[str, ...]) -> Iterator[str]:
    """The path with real values, then with each parameter in turn replaced by each hostile one."""
    names = re.findall(r"\{(\w+)(?::\w+)?\}", path)

    def fill(chosen: dict[str, str]) -> str:
        return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: chosen[m.group(1)], path)

    yield fill({name: values.get(name, "1") for name in names})
    for name in names:
        for segment in hostile:
            yield fill({other: values.get(other, "1") for other in names} | {name: segment})


def form_fields(dependant: Dependant) -> list[str]:
    """The names of the form fields a route reads (its own and its dependencies')."""
    names = [param.alias for param in dependant.body_params]
    for dependency in dependant.dependencies:
        names += form_fields(dependency)
    return names


def garbage_bodies(route: APIRoute, token: str) -> Iterator[dict[str, object]]:
    """Keyword arguments for ``httpx`` requests carrying garbage to ``route``."""
    names = form_fields(route.dependant) or ["x"]
    yield {}
    yield {"data": {"csrf_token": token}}
    for value in HOSTILE_VALUES:
        yield {"data": {"csrf_token": token, **{name: value for name in names}}}
    yield {"data": {"csrf_token": token, **{name: ["1", "2", "3"] for name in names}}}
    yield {
        "files": {name: ("../../x.md", b"\xff\xfe\x00garbage", "text/markdown") for name in names}
    }
    yield {
        "data": {"csrf_token": token},
        "files": {
            name: ("a" * 400 + ".png", b"GIF89a" + b"\x00" * 64, "image/png") for name in names
        },
    }
    yield {"content": b"%ZZ&&=&a=%FF&csrf_token=" + token.encode(), "headers": FORM}
    yield {
        "content": b"--x\r\nbroken",
        "headers": {"content-type": "multipart/form-data; boundary=x"},
    }
    yield {"content": b"--x--", "headers": {"content-type": "multipart/form-data"}}
    yield {"content": b'{"csrf_token": [1], "lists": {"a": null}}', "headers": JSON}
    yield {"content": b"\x00\xff" * 100, "headers": {"content-type": "application/octet-stream"}}


def client(app: FastAPI) -> TestClient:
    # raise_server_exceptions=False: a 500 is recorded as a finding like any other.
    return TestClient(
        app, base_url="https://testserver", follow_redirects=False, raise_server_exceptions=False
    )


def crawl(http: TestClient, site: Site, token: str, findings: Findings) -> None:
    """Every GET with hostile paths and a hostile query; every POST with garbage bodies."""
    for method, path, route in routes(site.app):
        values = site.values_for(path)
        real = next(paths(path, values, ()))
        if method == "GET":
            for url in paths(path, values, HOSTILE_SEGMENTS):
                findings.check(method, url, http.get(url))
            findings.check(method, f"{real}?{QUERY}", http.get(f"{real}?{QUERY}"))
        elif path != "/logout":  # logging out would end the crawl's session
            for url in paths(path, values, HOSTILE_SEGMENTS[:8]):
                findings.check(method, url, http.post(url, data={"csrf_token": token}))
            for body in garbage_bodies(route, token):
                findings.check(method, real, http.post(real, **body))


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_no_route_answers_hostile_input_with_a_server_error(site: Site, who: str) -> None:
    findings = Findings()
    with client(site.app) as http:
        token = csrf_of(http.get("/login").text) if who == "anonymous" else log_in(http, who)
        crawl(http, site, token, findings)
        # Paths no route has, and methods no route takes, get error pages too.
        for url in ("/nope", "/admin/nope/%00", "/u/", "/api/nope", "/" + "a" * 5000):
            findings.check("GET", url, http.get(url))
        for url in TRAVERSALS:  # the static files stay inside their folder
            answer = http.get(url)
            findings.check("GET", url, answer)
            assert answer.status_code == 404 and "build-system" not in answer.text, url
        findings.check("DELETE", "/admin", http.delete("/admin"))
        if who != "anonymous":  # the garbage did not end the session: it was all seen logged in
            assert http.get("/admin").status_code == 200
    assert not findings.problems, "\n".join(findings.problems)
