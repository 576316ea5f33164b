"""Per-recipient slots: sentinel strings left open in compiled output.

An edition is compiled once; what differs per recipient is written into these
sentinels, replaced in bytes when each message is filled. No second template pass
runs over text that editors wrote, so ``{{ 7*7 }}`` in an edition stays as written.

Sentinels are plain ASCII letters and digits: they survive Jinja2 autoescaping,
MJML compilation (also inside ``href``), quoted-printable encoding and header
folding unchanged. The random-looking tail makes a collision with real text
practically impossible; editions that contain the common prefix are refused.
"""

from __future__ import annotations

import enum

SENTINEL_PREFIX = "ZqSLOT"


class Slot(enum.Enum):
    """A per-recipient value; ``sentinel`` is what stands in for it until filled."""

    # Slot names, not passwords: bandit takes any string named *_TOKEN for one.
    UNSUBSCRIBE_TOKEN = "UNSUB"  # nosec B105 - in body links and List-Unsubscribe
    PREFERENCES_TOKEN = "PREFS"  # nosec B105 - in body links
    TO = "TO"  # the To header's value: display name and address
    MESSAGE_ID = "MSGID"  # the Message-ID header's value
    DATE = "DATE"  # the Date header's value (filled once per batch)

    @property
    def sentinel(self) -> str:
        return f"{SENTINEL_PREFIX}{self.value}x7Kq9w"


def unsubscribe_path(token: str) -> str:
    """The public path of the unsubscribe page for a token (the list's one-click URL)."""
    return f"/u/{token}"


def preferences_path(token: str) -> str:
    """The public path of the preferences page for a token."""
    return f"/p/{token}"
