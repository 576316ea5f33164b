"""What a preflight check reports: findings, sorted into errors and warnings.

An error means the edition should not go out as it is (the admin refuses to
schedule it); a warning is worth a look but does not block.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Finding:
    """One problem found in an edition.

    :param code: a stable identifier, e.g. ``html.size`` or ``image.alt`` (for code and tests)
    :param message: what is wrong and how to fix it, in plain words
    :param where: what it concerns: ``html``, ``text``, ``headers``, a link, an image...
    :param params: the values the web's sentence for it names; the web pages show the
        catalogue's ``preflight.error.<code>`` (or ``preflight.warning.<code>``) filled
        with them instead of ``message``, which stays for the command line
    """

    code: str
    message: str
    where: str
    params: Mapping[str, object] = field(default_factory=dict, compare=False)


@dataclass
class PreflightReport:
    """Errors block a send; warnings do not."""

    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing blocks the send."""
        return not self.errors

    def codes(self) -> set[str]:
        """Every finding's code, errors and warnings alike."""
        return {f.code for f in (*self.errors, *self.warnings)}

    def error(self, code: str, message: str, where: str, **params: object) -> None:
        self.errors.append(Finding(code, message, where, params))

    def warn(self, code: str, message: str, where: str, **params: object) -> None:
        self.warnings.append(Finding(code, message, where, params))

    def merge(self, others: Iterable[PreflightReport]) -> PreflightReport:
        """Add the findings of ``others`` to this report; :returns: this report"""
        for other in others:
            self.errors.extend(other.errors)
            self.warnings.extend(other.warnings)
        return self

    def to_dict(self) -> dict[str, list[dict[str, object]]]:
        """A JSON-ready form, for the admin and the API."""
        return {
            "errors": [asdict(f) for f in self.errors],
            "warnings": [asdict(f) for f in self.warnings],
        }
