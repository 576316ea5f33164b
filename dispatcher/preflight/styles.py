"""Reading the inline CSS that mail clients honour: colours, sizes, hidden elements.

Mail clients ignore most stylesheets, so what a reader sees is decided by
``style`` attributes and a few old HTML attributes (``bgcolor``, ``color``).
Only values that can be known for sure are returned; anything else (``inherit``,
``currentColor``, gradients, CSS variables) reads as "not determinable".
"""

from __future__ import annotations

import re

#: The CSS colour names that turn up in emails; others read as unknown.
NAMED_COLOURS = {
    "black": "#000000",
    "white": "#ffffff",
    "red": "#ff0000",
    "green": "#008000",
    "blue": "#0000ff",
    "yellow": "#ffff00",
    "gray": "#808080",
    "grey": "#808080",
    "silver": "#c0c0c0",
    "navy": "#000080",
    "maroon": "#800000",
    "orange": "#ffa500",
    "lightgray": "#d3d3d3",
    "lightgrey": "#d3d3d3",
    "darkgray": "#a9a9a9",
    "darkgrey": "#a9a9a9",
}

_HEX = re.compile(r"#([0-9a-f]{3}|[0-9a-f]{6})")
_RGB = re.compile(r"rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,\s*([\d.]+)\s*)?\)")
_LENGTH = re.compile(r"([\d.]+)\s*(px|pt)")
_ZERO = re.compile(r"0+(?:\.0*)?(?:px|pt|em|rem|%)?")


def declarations(style: str | None) -> dict[str, str]:
    """``color: red; Font-Size: 12px !important`` as ``{"color": "red", "font-size": "12px"}``."""
    found: dict[str, str] = {}
    for part in (style or "").split(";"):
        name, colon, value = part.partition(":")
        if colon:
            value = value.replace("!important", "").strip().lower()
            found[name.strip().lower()] = value
    return found


def parse_colour(value: str | None) -> str | None:
    """A CSS colour as ``#rrggbb``, or None when it is not an opaque colour we can read."""
    text = (value or "").strip().lower()
    if text in NAMED_COLOURS:
        return NAMED_COLOURS[text]
    if match := _HEX.fullmatch(text):
        digits = match.group(1)
        return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))
    if (match := _RGB.fullmatch(text)) and (match.group(4) in (None, "1", "1.0")):
        channels = [int(match.group(i)) for i in (1, 2, 3)]
        if all(c <= 255 for c in channels):
            return "#" + "".join(f"{c:02x}" for c in channels)
    return None


#: What :func:`background_of` returns for a background that cannot be known (an image).
UNKNOWN = ""


def background_of(style: dict[str, str], bgcolor: str | None) -> str | None:
    """The element's own background colour, from ``background-color``, ``background`` or
    the ``bgcolor`` attribute (in that order); None when it sets none (the parent's shows
    through), :data:`UNKNOWN` when it cannot be known (an image, a gradient)."""
    shorthand = style.get("background", "")
    image = style.get("background-image", "none") != "none"
    if image or "url(" in shorthand or "gradient(" in shorthand:
        return UNKNOWN
    if "background-color" in style:
        value = style["background-color"]
        if value in ("transparent", "inherit", "initial", "unset"):
            return None  # the parent's background shows through
        return parse_colour(value) or UNKNOWN
    if "background" in style:
        # The shorthand may hold a position, a repeat...: the colour is one of its words.
        for word in style["background"].replace(",", " ").split():
            if (colour := parse_colour(word)) is not None:
                return colour
        return None
    return parse_colour(bgcolor)


def font_size_px(value: str | None) -> float | None:
    """``16px`` or ``12pt`` in CSS pixels; None for relative or unknown sizes."""
    match = _LENGTH.fullmatch((value or "").strip())
    if match is None:
        return None
    size = float(match.group(1))
    return size * 4 / 3 if match.group(2) == "pt" else size


def is_bold(value: str | None) -> bool | None:
    """Whether a ``font-weight`` is bold (700 or more); None when not given."""
    if value is None:
        return None
    return value in ("bold", "bolder") or (value.isdigit() and int(value) >= 700)


def is_hidden(style: dict[str, str], attributes: dict[str, str | None]) -> bool:
    """Whether nobody sees this element: hidden preheaders, ``display:none`` and the like."""
    if "hidden" in attributes or style.get("display") == "none":
        return True
    if style.get("visibility") == "hidden" or style.get("mso-hide") == "all":
        return True
    if _ZERO.fullmatch(style.get("opacity", "1")):
        return True
    return bool(_ZERO.fullmatch(style.get("max-height", "-")) and style.get("overflow") == "hidden")
