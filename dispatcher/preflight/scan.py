"""One pass over a compiled edition's HTML, gathering what the checks look at.

Built on the standard library's :class:`html.parser.HTMLParser`: it tolerates the
tag soup of email HTML (MSO conditional comments, unclosed cells) and never
fetches anything. Colours, sizes and visibility are inherited down the element
stack the way a browser would for inline styles.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from html.parser import HTMLParser

from dispatcher.preflight import styles

VOID_ELEMENTS = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)
#: Elements whose text nobody reads in the message body.
UNSEEN_ELEMENTS = frozenset({"head", "title", "style", "script", "template"})
#: Elements after which text continues on a new line (so words do not run together).
BLOCK_ELEMENTS = frozenset("p div td th tr li h1 h2 h3 h4 h5 h6 br table blockquote".split())


@dataclass(frozen=True)
class Image:
    src: str
    alt: str | None  # None: no alt attribute at all
    width: str | None  # the width attribute or the style's width
    in_link: bool


@dataclass
class Link:
    href: str
    text: str = ""
    has_image: bool = False


@dataclass(frozen=True)
class ColourUse:
    """Text shown in one colour on one background."""

    foreground: str
    background: str
    large: bool  # WCAG "large text": 24px, or 18.66px and bold
    sample: str


@dataclass(frozen=True)
class _Context:
    """What an element inherits from its ancestors."""

    tag: str
    colour: str | None = None
    background: str | None = None
    size: float | None = None
    bold: bool = False
    hidden: bool = False
    unseen: bool = False


@dataclass
class HtmlScan:
    """What the preflight checks need to know about the HTML."""

    lang: str | None = None
    has_html_element: bool = False
    images: list[Image] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    colours: list[ColourUse] = field(default_factory=list)
    visible_text: str = ""


def scan_html(html: str) -> HtmlScan:
    """Read ``html`` once; :returns: its language, images, links, colours and visible text"""
    parser = _Scanner()
    parser.feed(html)
    parser.close()
    parser.result.visible_text = "".join(parser.text_parts)
    return parser.result


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.result = HtmlScan()
        self.stack: list[_Context] = [_Context("#document")]
        self.text_parts: list[str] = []
        self.open_link: Link | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.result.has_html_element = True
            self.result.lang = (attributes.get("lang") or "").strip() or None
        context = self._inherit(tag, attributes)
        if tag == "img":
            self._image(attributes, context)
        elif tag == "a":
            self.open_link = Link(attributes.get("href") or "")
            self.result.links.append(self.open_link)
        if tag in BLOCK_ELEMENTS:
            self.text_parts.append("\n")
        if tag not in VOID_ELEMENTS:
            self.stack.append(context)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <img ... />: like a start tag, but nothing is opened.
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self.open_link = None
        # Unclosed elements inside are closed with it, as browsers do; a stray end tag is ignored.
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                break
        if tag in BLOCK_ELEMENTS:
            self.text_parts.append("\n")

    def handle_data(self, data: str) -> None:
        context = self.stack[-1]
        if context.unseen or context.hidden:
            return
        self.text_parts.append(data)
        if self.open_link is not None:
            self.open_link.text += data
        if data.strip() and context.colour and context.background:
            large = (context.size or 0) >= 24 or ((context.size or 0) >= 18.66 and context.bold)
            sample = " ".join(data.split())[:60]
            use = ColourUse(context.colour, context.background, large, sample)
            self.result.colours.append(use)

    def _inherit(self, tag: str, attributes: dict[str, str | None]) -> _Context:
        parent = self.stack[-1]
        style = styles.declarations(attributes.get("style"))
        colour = styles.parse_colour(style.get("color") or attributes.get("color"))
        background = styles.background_of(style, attributes.get("bgcolor"))
        weight = styles.is_bold(style.get("font-weight"))
        bold = (parent.bold if weight is None else weight) or tag in ("b", "strong")
        return replace(
            parent,
            tag=tag,
            colour=colour or parent.colour,
            background=parent.background if background is None else background or None,
            size=styles.font_size_px(style.get("font-size")) or parent.size,
            bold=bold,
            hidden=parent.hidden or styles.is_hidden(style, attributes),
            unseen=parent.unseen or tag in UNSEEN_ELEMENTS,
        )

    def _image(self, attributes: dict[str, str | None], context: _Context) -> None:
        if context.hidden or context.unseen:
            return
        style = styles.declarations(attributes.get("style"))
        width = attributes.get("width") or style.get("width")
        alt = attributes.get("alt")
        image = Image(attributes.get("src") or "", alt, width, self.open_link is not None)
        self.result.images.append(image)
        if self.open_link is not None:
            self.open_link.has_image = True
            self.open_link.text += f" {alt or ''}"
