"""The command line's one translation of the exception tree.

Every command runs inside the top-level group's ``invoke``, so catching the tree
there turns any :class:`~dispatcher.errors.NewsletterError` raised by a service
into a one-line ``Error: ...`` on stderr and exit status 1, with no stack trace.
Commands hold no try/except of their own for that; anything outside the tree is
a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

import click

from dispatcher.errors import NewsletterError


class TranslatingGroup(click.Group):
    """A command group whose commands' tree errors become :class:`click.ClickException`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NewsletterError as exc:
            raise click.ClickException(str(exc)) from exc
