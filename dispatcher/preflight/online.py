"""The optional online check: do the edition's links answer?

Off by default (CI and many office machines have no way out); turned on with
``run_preflight(..., online=True)`` or ``dispatcher preflight EDITION_ID --online``.
A link that does not answer is a warning, never an error: the site may be down
for a minute, or refuse robots.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from dispatcher.preflight.findings import PreflightReport

TIMEOUT_SECONDS = 10.0
PARALLEL = 8
USER_AGENT = "newsletter-dispatcher preflight (link check)"


def link_status(url: str, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """None when ``url`` answers with a success or a redirect, else what went wrong."""
    if not url.startswith(("http://", "https://")):
        return "not an http(s) address"  # urlopen would also read file: and ftp: addresses
    for method in ("HEAD", "GET"):  # some servers refuse HEAD (405) but serve GET
        request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=timeout):  # nosec B310 - http(s) addresses only
                return None
        except urllib.error.HTTPError as exc:
            if method == "HEAD" and exc.code in (403, 405, 501):
                continue
            return f"HTTP {exc.code} {exc.reason}"
        except (urllib.error.URLError, OSError) as exc:
            return str(getattr(exc, "reason", exc))
    return None


def check_links_online(urls: Iterable[str], timeout: float = TIMEOUT_SECONDS) -> PreflightReport:
    """Ask each distinct http(s) address once, a few at a time."""
    report = PreflightReport()
    wanted = [u for u in dict.fromkeys(urls) if u.startswith(("http://", "https://"))]
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        statuses = list(pool.map(lambda u: link_status(u, timeout), wanted))
    for url, status in zip(wanted, statuses, strict=True):
        if status is not None:
            problem = f"{url} did not answer as expected: {status}"
            report.warn("link.unreachable", problem, url, url=url, status=status)
    return report
