"""What belongs to a newsletter rather than to one edition: sender, masthead, colours, footer.

Each newsletter has a TOML settings file (see ``examples/cronache.toml``), stored as JSON
in the database through :meth:`NewsletterSettings.to_dict` / ``from_dict``; the TOML file
has exactly the layout of that JSON, so both are checked by the same code. Problems name
the file and the key; TOML syntax errors also name the line.

Problems are reported as :class:`~dispatcher.errors.EditionFileError`, the content error
that carries a file, a line and a field.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, NoReturn

from dispatcher.editions.checks import IMAGE_SCHEMES, text_problem, url_problem
from dispatcher.errors import EditionFileError
from dispatcher.message.template import MailContent

MIN_CONTRAST = 4.5  # WCAG 2.x level AA for body text

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})+")
# RFC 5322 dot-atom characters for the part before the @.
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)$")


@dataclass(frozen=True)
class Colours:
    """The email's colours, as #rrggbb; the defaults pass WCAG AA contrast (4.5:1)."""

    primary: str = "#1c4f82"  # masthead band and titles (8.4:1 on white)
    on_primary: str = "#ffffff"  # text on the masthead band
    text: str = "#1f1f1f"  # body text (16.5:1 on white)
    background: str = "#ffffff"
    link: str = "#0b5394"  # 7.8:1 on white
    muted: str = "#595959"  # captions, dates and the footer (7:1 on white)

    def contrast_pairs(self) -> tuple[tuple[str, str, str], ...]:
        """:returns: (key, foreground, background) for every colour pair shown as text"""
        return (
            ("text", self.text, self.background),
            ("link", self.link, self.background),
            ("primary", self.primary, self.background),
            ("muted", self.muted, self.background),
            ("on_primary", self.on_primary, self.primary),
        )


@dataclass(frozen=True)
class Logo:
    """A picture shown above the masthead."""

    url: str  # https
    alt: str
    width: int = 160  # pixels, as shown in the email


@dataclass(frozen=True)
class Section:
    """A section of a newsletter: articles name it, subscribers choose it."""

    slug: str  # what an article's `sezione:` line and the import's column name
    name: str  # in Italian, as the preferences page shows it
    name_en: str  # in English

    def label(self, language: str) -> str:
        """:returns: the name in ``language`` (English, else Italian)"""
        return self.name_en if language == "en" else self.name


@dataclass(frozen=True)
class NewsletterSettings:
    """Everything about a newsletter that stays the same from one edition to the next."""

    slug: str  # the newsletter's short name; editions name it in their `newsletter` field
    name: str  # e.g. "Cronache da Palazzo Cisterna"
    from_name: str
    from_address: str
    list_id: str  # RFC 2919 List-Id identifier, e.g. "cronache.cittametropolitana.torino.it"
    masthead_title: str  # e.g. "Cronache"
    masthead_subtitle: str  # the tagline under the title
    legal_footer: tuple[str, ...]  # e.g. the court registration line and the publisher
    masthead_kicker: str | None = None  # a short line above the title: "DA PALAZZO CISTERNA"
    reply_to: str | None = None
    language: str = "it"  # BCP 47 tag, written as the email's lang attribute
    organisation_address: str | None = None
    colours: Colours = field(default_factory=Colours)
    logo: Logo | None = None
    # Reach without tracking: links go through a per-edition click counter, web-version
    # views and the unsubscribes after each edition are counted; nothing per person.
    reach: bool = False
    # The sections subscribers may choose (empty: the newsletter is not divided).
    sections: tuple[Section, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """:returns: a JSON-ready mapping that :meth:`from_dict` turns back into these settings"""
        data = asdict(self)
        data["legal_footer"] = list(self.legal_footer)
        if self.sections:
            data["sections"] = [asdict(section) for section in self.sections]
        else:
            del data["sections"]  # settings without sections hash as they always did
        return data

    @property
    def section_slugs(self) -> tuple[str, ...]:
        """The slugs of its sections, in the settings' order."""
        return tuple(section.slug for section in self.sections)

    def mail_content(self, subject: str, text: str, html: str) -> MailContent:
        """A message from this newsletter: its sender and Reply-To around the given words."""
        return MailContent(
            subject=subject,
            text=text,
            html=html,
            from_name=self.from_name,
            from_address=self.from_address,
            reply_to=self.reply_to,
        )

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], source: str = "newsletter settings"
    ) -> NewsletterSettings:
        """Check settings given as a mapping (from TOML or stored JSON) and build them.

        :param data: the mapping, laid out as :meth:`to_dict` writes it
        :param source: the file or record the mapping came from, for error messages
        :returns: the settings
        :raises EditionFileError: naming ``source`` and the key that is missing, unknown
            or wrong (addresses, List-Id, colours, contrast, language)
        """
        keys = _Keys(data, source, "", _names(cls))
        return cls(
            slug=keys.matching(
                "slug",
                _SLUG,
                "is not valid here: use lower-case letters, digits and -",
                "edition.bad_newsletter",
            ),
            name=keys.text("name"),
            from_name=keys.text("from_name"),
            from_address=keys.address("from_address"),
            list_id=keys.list_id("list_id"),
            masthead_title=keys.text("masthead_title"),
            masthead_subtitle=keys.text("masthead_subtitle"),
            legal_footer=keys.lines("legal_footer"),
            masthead_kicker=keys.optional(keys.text, "masthead_kicker"),
            reply_to=keys.optional(keys.address, "reply_to"),
            language=keys.optional(keys.language, "language") or "it",
            organisation_address=keys.optional(keys.text, "organisation_address"),
            colours=_colours(keys.table("colours", _names(Colours))),
            logo=None if data.get("logo") is None else _logo(keys.table("logo", _names(Logo))),
            reach=keys.flag("reach"),
            sections=_sections(data.get("sections"), source),
        )


def load_newsletter_settings(path: Path) -> NewsletterSettings:
    """Read and check a newsletter's TOML settings file.

    :param path: the file (UTF-8 TOML)
    :returns: the settings
    :raises EditionFileError: naming the file, and the line of a TOML syntax error or the
        key of a missing, unknown or wrong setting
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise EditionFileError(str(path), None, None, "there is no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise EditionFileError(str(path), None, None, f"cannot be read as UTF-8: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(str(path), exc) from exc
    return NewsletterSettings.from_dict(data, source=str(path))


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.x contrast ratio between two #rrggbb colours.

    :param foreground: the text colour
    :param background: the colour behind it
    :returns: a ratio from 1.0 (none) to 21.0 (black on white)
    """
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _luminance(colour: str) -> float:
    channels = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _toml_error(path: str, exc: tomllib.TOMLDecodeError) -> EditionFileError:
    # tomllib before 3.14 puts the position only in the message: "... (at line 3, column 5)".
    message = str(exc)
    found = _TOML_POSITION.search(message)
    line = int(found.group(1)) if found else None
    problem = _TOML_POSITION.sub("", message)
    error = EditionFileError(path, line, None, f"the settings are not valid TOML: {problem}")
    return error.coded("settings.toml")


def _names(cls: type[object]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]


def _colours(keys: _Keys) -> Colours:
    colours = Colours(**{name: keys.colour(name) for name in keys.data})
    for name, foreground, background in colours.contrast_pairs():
        ratio = contrast_ratio(foreground, background)
        if ratio < MIN_CONTRAST:
            problem = (
                f"{foreground} on {background} has a contrast of {ratio:.2f}:1, "
                f"below the {MIN_CONTRAST}:1 people with low vision need"
            )
            keys.fail(
                name,
                problem,
                "settings.low_contrast",
                foreground=foreground,
                background=background,
                ratio=f"{ratio:.2f}",
                needed=MIN_CONTRAST,
            )
    return colours


def _sections(value: object, source: str) -> tuple[Section, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise EditionFileError(source, None, "sections", "must be a list of [[sections]] tables")
    found: list[Section] = []
    for index, item in enumerate(value):
        keys = _Keys(item, source, f"sections[{index + 1}].", _names(Section))
        problem = "is not valid here: use lower-case letters, digits, -"
        slug = keys.matching("slug", _SLUG, problem, "settings.bad_section")
        if slug in (section.slug for section in found):
            keys.fail("slug", f'"{slug}" is the slug of another section too')
        found.append(Section(slug=slug, name=keys.text("name"), name_en=keys.text("name_en")))
    return tuple(found)


def _logo(keys: _Keys) -> Logo:
    width = keys.data.get("width", Logo.width)
    if not isinstance(width, int) or isinstance(width, bool) or not 16 <= width <= 600:
        keys.fail("width", "must be a whole number of pixels from 16 to 600", "settings.logo_width")
    return Logo(url=keys.url("url"), alt=keys.text("alt"), width=width)


class _Keys:
    """One table of settings, with checks that name the key they concern."""

    def __init__(self, data: object, source: str, prefix: str, allowed: tuple[str, ...]) -> None:
        self.source = source
        self.prefix = prefix
        if not isinstance(data, Mapping):
            error = EditionFileError(source, None, prefix.rstrip(".") or None, "must be a table")
            raise error.coded("settings.not_table")
        self.data: Mapping[str, Any] = data
        for name in data:
            if name not in allowed:
                known = ", ".join(allowed)
                self.fail(
                    name, f"unknown setting (known: {known})", "settings.unknown", known=known
                )

    def fail(self, name: str, problem: str, key: str = "", **params: object) -> NoReturn:
        """Refuse setting ``name`` (``key`` and ``params`` name the problem for the web)."""
        error = EditionFileError(self.source, None, f"{self.prefix}{name}", problem)
        raise error.coded(key, **params) if key else error

    def optional(self, check: Callable[[str], str], name: str) -> str | None:
        """Apply ``check(name)`` when the key is present and not null, else None."""
        return None if self.data.get(name) is None else check(name)

    def table(self, name: str, allowed: tuple[str, ...]) -> _Keys:
        """The sub-table ``name``; an absent one reads as empty."""
        value = self.data.get(name)
        return _Keys({} if value is None else value, self.source, f"{name}.", allowed)

    def flag(self, name: str) -> bool:
        """The true/false setting ``name``; an absent one reads as false."""
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            self.fail(name, "must be true or false, without quotes", "settings.not_flag")
        return value

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if value is None:
            self.fail(name, "is missing", "edition.missing_field")
        if not isinstance(value, str):
            self.fail(name, "must be text in quotes", "settings.not_text")
        problem = text_problem(value.strip(), one_line=True)
        if problem:
            self.fail(name, problem)
        return value.strip()

    def lines(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name)
        if not isinstance(value, list | tuple) or not value:
            self.fail(
                name,
                'must be a list of lines, such as ["first line", "second line"]',
                "settings.not_lines",
            )
        for line in value:
            problem: str | None = (
                "must be text"
                if not isinstance(line, str)
                else text_problem(line.strip(), one_line=True)
            )
            if problem:
                self.fail(name, f'"{line}" {problem}', "settings.bad_line", line=line)
        return tuple(line.strip() for line in value)

    def matching(self, name: str, pattern: re.Pattern[str], problem: str, key: str) -> str:
        """The text field ``name``; unless it matches, fail with ``"<value>" <problem>``."""
        value = self.text(name)
        if not pattern.fullmatch(value):
            self.fail(name, f'"{value}" {problem}', key, value=value)
        return value

    def address(self, name: str) -> str:
        value = self.text(name)
        local, at, domain = value.rpartition("@")
        if not at or "@" in local or not _LOCAL_PART.fullmatch(local) or len(local) > 64:
            problem = f'"{value}" is not an email address such as name@example.org'
            self.fail(name, problem, "settings.bad_address", value=value)
        if not _DOMAIN.fullmatch(domain) or len(value) > 254:
            self.fail(name, f'"{value}" has no valid domain after the @', "settings.bad_domain")
        return value

    def list_id(self, name: str) -> str:
        value = self.text(name)
        if value.startswith("<") or not _DOMAIN.fullmatch(value) or len(value) > 255:
            problem = (
                f'"{value}" is not a List-Id: write a domain-like name without <>, '
                "such as newsletter.example.org"
            )
            self.fail(name, problem, "settings.bad_list_id", value=value)
        return value

    def language(self, name: str) -> str:
        problem = "is not valid here: use a language code such as it or it-IT"
        return self.matching(name, _LANGUAGE, problem, "settings.bad_language")

    def colour(self, name: str) -> str:
        problem = "is not a colour: use #rrggbb, such as #1c4f82"
        return self.matching(name, _HEX_COLOUR, problem, "settings.bad_colour")

    def url(self, name: str) -> str:
        value = self.text(name)
        problem = url_problem(value, IMAGE_SCHEMES)
        if problem:
            self.fail(name, problem)
        return value
