"""The root of the project's one exception tree, and the subscribers package's branch.

``NewsletterError`` lives here, in the lowest layer, because ``subscribers`` may
not import ``dispatcher``; ``dispatcher.errors`` re-exports these classes and draws
the whole tree. This package's branch::

NewsletterError
├── InputError                  a value a person gave (slug, delimiter, date) cannot be used
└── SubscribersError
    ├── InvalidTokenError       a token that is forged, altered, expired or for something else
    ├── ImportFileError         a CSV file that cannot be read at all (names file and line)
    ├── UnknownListError        a list slug or id that does not exist
    ├── UnknownSubscriberError  nobody has this address or id
    ├── SubscriptionStateError  a consent step not allowed in the subscription's current state
    └── InvalidAddressError     an address that is not a valid email address
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Self


class NewsletterError(Exception):
    """Base of every error the project (``dispatcher`` and ``subscribers``) raises on purpose.

    The edges translate it once: the web app's handlers into a page or JSON, the
    command line into a one-line message and exit status 1.

    Besides its English message (what the command line prints, advice included) an
    error may carry a stable ``key`` naming what went wrong and the ``params`` its
    sentence needs: the web pages show the key's text from their catalogues in the
    reader's language, filled with the params (``dispatcher.web.errors``). Set them
    with :meth:`coded`, or per class when a class has one meaning.
    """

    #: What went wrong, stable and dotted (``edition.unknown_field``); "" when not named yet.
    key: str = ""
    #: The values the key's sentence names (``{"field": "subject", "line": 3}``).
    params: Mapping[str, object] = MappingProxyType({})

    def coded(self, key: str, **params: object) -> Self:
        """Name this error for translation, with the values its sentence needs.

        ``raise StateError(f"send {n} is paused: ...").coded("send.not_running", send=n)``
        """
        self.key = key
        self.params = {**self.params, **params}
        return self


class InputError(NewsletterError, ValueError):
    """A value a person typed or passed cannot be used (a list slug, a date, a delimiter).

    Shared by both packages, so it sits under the root. Also a ``ValueError``, which
    is what these checks raised before the tree had them.
    """


class SubscribersError(NewsletterError):
    """Base of every error the subscribers package raises on purpose."""


class InvalidTokenError(SubscribersError):
    """The token does not verify, has expired, or was made for another purpose."""


class ImportFileError(SubscribersError):
    """A CSV file cannot be imported at all; the message names the file and line."""


class UnknownListError(SubscribersError):
    """No list has this slug or id."""


class UnknownSubscriberError(SubscribersError):
    """No subscriber has this address or id, or the person is not on the list."""


class SubscriptionStateError(SubscribersError):
    """The subscription cannot take this step now (e.g. confirming one that was left)."""


class InvalidAddressError(SubscribersError):
    """The text is not a valid email address."""
