"""Preflight: what to check in an edition before it goes to thousands of people.

``run_preflight(session, edition_id, settings)`` builds the sample message and
returns a :class:`PreflightReport` of errors (do not send) and warnings (look
first): Gmail's clipping size, images without alt text or width, broken or
unsafe links, a plain-text part missing what the HTML says, text contrast under
WCAG AA, a missing ``lang``, RFC 8058 unsubscribe headers, and SpamAssassin's
score with local rules. :func:`check_compiled` is the pure part underneath.
"""

from __future__ import annotations

from dispatcher.preflight.findings import Finding, PreflightReport
from dispatcher.preflight.run import check_compiled, run_preflight

__all__ = ["Finding", "PreflightReport", "check_compiled", "run_preflight"]
