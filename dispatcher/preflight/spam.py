"""SpamAssassin's opinion of the sample message, with local rules only.

Debian's ``spamassassin`` script is run on the sample .eml in test mode with
network tests off (``--local``): no DNS blocklists, no Razor or Pyzor, so the
result depends only on the message and is the same in CI and production. It is
run with user preferences, Bayes and auto-learning off, so it writes nothing.

Thresholds: SpamAssassin's own default marks a message as spam at 5 points, so
5 or more is an error; over 3 is a warning, since receiving servers add network
and reputation rules on top of these.
"""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import subprocess  # nosec B404 - runs SpamAssassin only, see check_spam
from dataclasses import dataclass

from dispatcher.preflight.findings import PreflightReport

SPAM_ERROR_SCORE = 5.0
SPAM_WARNING_SCORE = 3.0
TIMEOUT_SECONDS = 60.0
WHERE = "message (SpamAssassin, local rules)"
_ARGUMENTS = (
    "--local",
    "--test-mode",
    "--nocreate-prefs",
    "--cf=use_bayes 0",
    "--cf=bayes_auto_learn 0",
)
_SCORE = re.compile(r"score=(-?\d+(?:\.\d+)?)")
_TESTS = re.compile(r"tests=([A-Za-z0-9_,]*)")


@dataclass(frozen=True)
class SpamResult:
    score: float
    rules: tuple[str, ...]  # the names of the rules that hit


def parse_spam_status(output: bytes) -> SpamResult | None:
    """Read the ``X-Spam-Status`` header that ``spamassassin -t`` adds; None if absent."""
    message = email.message_from_bytes(output, policy=email.policy.compat32)
    status = message.get("X-Spam-Status")
    if status is None:
        return None
    flat = re.sub(r",\s+", ",", " ".join(str(status).split()))
    score = _SCORE.search(flat)
    if score is None:
        return None
    tests = _TESTS.search(flat)
    rules = tuple(r for r in (tests.group(1) if tests else "").split(",") if r)
    return SpamResult(float(score.group(1)), rules)


def judge(result: SpamResult) -> PreflightReport:
    """The score as a finding: an error from 5 points, a warning over 3."""
    report = PreflightReport()
    rules = ", ".join(result.rules) or "none"
    message = f"SpamAssassin scores the sample message {result.score:.1f} (rules: {rules})"
    if result.score >= SPAM_ERROR_SCORE:
        problem = f"{message}: at {SPAM_ERROR_SCORE} it is spam"
        report.error("spam.score", problem, WHERE, score=f"{result.score:.1f}", rules=rules)
    elif result.score > SPAM_WARNING_SCORE:
        problem = f"{message}: over {SPAM_WARNING_SCORE} is risky"
        report.warn("spam.score", problem, WHERE, score=f"{result.score:.1f}", rules=rules)
    return report


def check_spam(
    eml: bytes, *, executable: str | None = None, timeout: float = TIMEOUT_SECONDS
) -> PreflightReport:
    """Run SpamAssassin on ``eml``; a warning (never an error) when it cannot be run.

    :param executable: the program; default ``spamassassin`` on the PATH
    """
    program = executable or shutil.which("spamassassin")
    if program is None:
        return _unavailable("SpamAssassin is not installed here: the spam score was not checked")
    try:
        # A fixed argument list and no shell: the message goes in on stdin, never as an argument.
        done = subprocess.run(  # nosec B603
            [program, *_ARGUMENTS], input=eml, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return _unavailable(f"SpamAssassin gave no answer within {timeout:.0f} s")
    except OSError as exc:
        return _unavailable(f"SpamAssassin could not be run: {exc}")
    result = parse_spam_status(done.stdout)
    if result is None:
        error = done.stderr.decode("utf-8", "replace").strip()[-300:]
        return _unavailable(f"SpamAssassin gave no score (exit {done.returncode}): {error}")
    return judge(result)


def _unavailable(message: str) -> PreflightReport:
    report = PreflightReport()
    report.warn("spam.unavailable", message, WHERE)
    return report
