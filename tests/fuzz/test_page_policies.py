"""Every GET page: a script policy in its headers, and an answer to HEAD.

The routes are read from the app (as in :mod:`tests.fuzz.test_web_crawl`), so a page
added later is checked too: its ``Content-Security-Policy`` must let only this site's
script files run, and ``HEAD`` must answer like ``GET``, without the body.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.fuzz.conftest import Site
from tests.fuzz.test_web_crawl import client, paths, routes
from tests.support.admin import log_in

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def scripts_from_this_site_only(answer: httpx.Response) -> bool:
    policy = answer.headers.get("content-security-policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.split()}
    scripts = directives.get("script-src", directives.get("default-src"))
    return scripts is not None and set(scripts) <= {"'self'", "'none'"}


def get_pages(site: Site) -> list[str]:
    return [
        next(paths(path, site.values_for(path), ()))
        for method, path, _route in routes(site.app)
        if method == "GET"
    ]


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_every_page_has_a_script_policy_and_answers_head(site: Site, who: str) -> None:
    problems = []
    with client(site.app) as http:
        if who == "admin":
            log_in(http, who)
        for url in [*get_pages(site), "/nope", "/static/site.css"]:
            got, head = http.get(url), http.head(url)
            if not scripts_from_this_site_only(got):
                problems.append(f"GET {url}: {got.headers.get('content-security-policy')!r}")
            if head.status_code != got.status_code or head.content:
                problems.append(f"HEAD {url}: {head.status_code}, GET {got.status_code}")
            elif head.headers.get("content-length") != got.headers.get("content-length"):
                problems.append(f"HEAD {url}: another length than GET")
    assert not problems, "\n".join(problems)


def test_the_api_explorer_runs_only_this_sites_script_files(site: Site) -> None:
    with TestClient(site.app, base_url="https://testserver") as http:
        page = http.get("/api/docs")
        assert page.status_code == 200 and scripts_from_this_site_only(page)
        tags = SCRIPT_TAG.findall(page.text)
        assert tags and all(not body.strip() for _attributes, body in tags)  # no inline script
        sources = [re.search(r'src="([^"]+)"', attributes) for attributes, _body in tags]
        assert all(found and found.group(1).startswith("/static/") for found in sources)
        styles = re.findall(r'<link[^>]+href="([^"]+)"', page.text)
        for url in [found.group(1) for found in sources if found] + styles:
            answer = http.get(url)
            assert answer.status_code == 200 and answer.content, url
        assert "swagger-ui" in page.text and "/api/openapi.json" in page.text
