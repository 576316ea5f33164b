"""Rendering: the seed edition keeps every word, editors' text is never evaluated or trusted."""

from __future__ import annotations

import dataclasses
import html as html_lib
import re
from pathlib import Path

import pytest

from dispatcher.editions import (
    Article,
    Edition,
    NewsletterSettings,
    load_edition,
)
from dispatcher.errors import ContentError, TemplateError
from dispatcher.message.slots import Slot
from dispatcher.render import CompiledEdition, EditionLinks, compile_edition
from dispatcher.render.text import markdown_to_text, wrap

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_URL = "https://notizie.example.org"
UNSUBSCRIBE_URL = f"{PUBLIC_URL}/u/{Slot.UNSUBSCRIBE_TOKEN.sentinel}"
PREFERENCES_URL = f"{PUBLIC_URL}/p/{Slot.PREFERENCES_TOKEN.sentinel}"
GMAIL_CLIP_BYTES = 102_400

# The printed edition's text as extracted from its PDF (the layout is lost).
SEED = """\
DA PALAZZO CISTERNA
Cronache
IL SETTIMANALE DELLA CITTÀ METROPOLITANA DI TORINO

Autorizzazione del Tribunale di Torino n. 1788 del 29.3.1966

IL PANETTONE DEI FUTURI CHEF

**Arrivata la Fiaccola
dei Giochi
universitari**

**I dati
dell'Osservatorio
Migranti**

**Natale è reale
a Stupinigi**

Verso il Piano metropolitano dell'economia sociale

Città metropolitana e Camera di commercio di Torino, nella cornice di Torino Social Impact, \
hanno riunito giovedì 5 dicembre, nell'auditorium della Città metropolitana, attori \
qualificati del territorio per avviare, in modalità partecipata, il Piano metropolitano \
dell'economia sociale.

Un lavoro che, condotto con il supporto metodologico e organizzativo di Avventura Urbana, \
porterà a definire un quadro condiviso di contenuti sulla base dei quali strutturare il Piano.

“Gli obiettivi del processo” ha spiegato ad inizio lavori Sonia Cambursano, consigliera della \
Città metropolitana di Torino delegata allo sviluppo economico “sono quelli di diffondere un \
nuovo modello di crescita su tutto il territorio e di costruire un piano economico con una \
forte identità sociale, che riesca a tenere insieme gli obiettivi di sviluppo economico con \
quelli di coesione e inclusione sociale”.

Dopo i saluti istituzionali, la mattinata è proseguita con la suddivisione del pubblico in \
cinque tavoli tematici: 1) Governance, procurement e partnership; 2) Finanza ad impatto \
sociale; 3) Formazione continua e sviluppo di competenze; 4) Connessioni fisiche e digitali e \
innovazione; 5) Inclusione sociale e lavorativa.

A tutti i partecipanti è stato chiesto di sviluppare una riflessione partendo da due domande \
che hanno caratterizzato le due sessioni di discussione: su quali leve è strategico puntare? \
quali azioni concrete vanno inserite nel Piano per raggiungere la visione auspicata?

Le discussioni sono state facilitate da figure esperte, che hanno riportato in plenaria i \
risultati del confronto dei tavoli.

La mattinata si è conclusa con l'intervento di Guido Bolatto, segretario generale della \
Camera di commercio di Torino, che, ringraziando il pubblico per la partecipazione e per gli \
spunti di riflessione, ha spiegato che per avere un nuovo modello di sviluppo economico \
occorre compiere quattro azioni fondamentali: comunicare, cooperare, formare e supportare.

a.r.a.
"""
TAVOLI = (
    "Governance, procurement e partnership;",
    "Finanza ad impatto sociale;",
    "Formazione continua e sviluppo di competenze;",
    "Connessioni fisiche e digitali e innovazione;",
    "Inclusione sociale e lavorativa.",
)


def normalise(text: str) -> str:
    return " ".join(text.split())


def visible_text(html: str) -> str:
    """The HTML's body as a reader sees it: no head, no tags, entities decoded."""
    body = html[html.index("<body") :]
    return normalise(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)))


@pytest.fixture(scope="module")
def edition() -> Edition:
    return load_edition(ROOT / "examples" / "cronache-da-palazzo-cisterna.md")


@pytest.fixture(scope="module")
def links(edition: Edition) -> EditionLinks:
    return EditionLinks.for_edition(PUBLIC_URL + "/", edition.newsletter, edition.number)


@pytest.fixture(scope="module")
def compiled(
    edition: Edition, newsletter_settings: NewsletterSettings, links: EditionLinks
) -> CompiledEdition:
    return compile_edition(edition, newsletter_settings, links)


def with_article(edition: Edition, title: str, body: str) -> Edition:
    return dataclasses.replace(edition, articles=(Article(title, body, "a.r.a."),))


def test_links_for_an_edition(links: EditionLinks) -> None:
    assert links == EditionLinks(
        web_version_url=f"{PUBLIC_URL}/archive/cronache/44",
        unsubscribe_url=UNSUBSCRIBE_URL,
        preferences_url=PREFERENCES_URL,
        redirect_base=f"{PUBLIC_URL}/r/cronache/44",
    )


def test_every_word_of_the_seed_is_in_both_parts(compiled: CompiledEdition) -> None:
    words = re.findall(r"\w+(?:['’.]\w+)*", SEED)
    assert len(words) > 300
    shown = visible_text(compiled.html)
    text = normalise(compiled.text)
    assert [w for w in words if w not in shown] == []
    assert [w for w in words if w not in text] == []


def test_the_seeds_paragraphs_keep_their_punctuation(compiled: CompiledEdition) -> None:
    paragraphs = [normalise(p) for p in SEED.split("\n\n")[6:] if "1)" not in p]
    shown = visible_text(compiled.html)
    text = normalise(compiled.text)
    for paragraph in paragraphs:
        assert paragraph in shown
        assert paragraph in text
    assert "“Gli obiettivi del processo”" in text and "inclusione sociale”." in shown


def test_the_tavoli_are_a_numbered_list_with_all_their_words(compiled: CompiledEdition) -> None:
    items = re.findall(r"<li[^>]*>(.*?)</li>", compiled.html)
    assert [html_lib.unescape(item) for item in items] == list(TAVOLI)
    assert '<ol style="' in compiled.html
    for number, item in enumerate(TAVOLI, start=1):
        assert f"\n{number}) {item}\n" in compiled.text


def test_the_html_is_italian_titled_and_previewed(
    compiled: CompiledEdition, edition: Edition
) -> None:
    assert '<html lang="it"' in compiled.html
    title = re.search(r"<title>(.*?)</title>", compiled.html)
    assert title and html_lib.unescape(title.group(1)) == edition.subject
    preview = re.search(r'<div style="display:none;[^>]*>(.*?)</div>', compiled.html)
    assert preview and html_lib.unescape(preview.group(1)) == edition.preheader
    assert compiled.subject == edition.subject and compiled.preheader == edition.preheader


def test_no_mjml_tag_is_left_unconverted(compiled: CompiledEdition) -> None:
    # mjml-python passes unknown or misspelt tags through silently.
    assert "<mj-" not in compiled.html and "</mj-" not in compiled.html


def test_every_image_has_alt_text_and_a_width(compiled: CompiledEdition) -> None:
    images = re.findall(r"<img\b[^>]*>", compiled.html)
    assert len(images) == 5  # logo, cover, three highlights
    for image in images:
        assert re.search(r'\balt="[^"]+"', image), image
        assert re.search(r'\bwidth="\d+"', image), image


def test_the_footer_has_the_legal_lines_and_visible_links(compiled: CompiledEdition) -> None:
    footer = compiled.html[compiled.html.index("Autorizzazione del Tribunale di Torino") :]
    unsubscribe = re.search(r'<a href="([^"]+)"[^>]*>Annulla l&#39;iscrizione</a>', footer)
    preferences = re.search(r'<a href="([^"]+)"[^>]*>Preferenze</a>', footer)
    browser = re.search(r'<a href="([^"]+)"[^>]*>Leggi nel browser</a>', footer)
    assert unsubscribe and unsubscribe.group(1) == UNSUBSCRIBE_URL
    assert preferences and preferences.group(1) == PREFERENCES_URL
    assert browser and browser.group(1) == f"{PUBLIC_URL}/archive/cronache/44"
    assert "Editore: Città metropolitana di Torino" in footer


def test_the_text_part_writes_addresses_in_full(compiled: CompiledEdition) -> None:
    text = normalise(compiled.text)
    assert f"Annulla l'iscrizione <{UNSUBSCRIBE_URL}>" in text
    assert f"Preferenze <{PREFERENCES_URL}>" in text
    assert f"<{PUBLIC_URL}/archive/cronache/44>" in compiled.text
    assert "Autorizzazione del Tribunale di Torino n. 1788 del 29.3.1966\n" in compiled.text
    assert "Verso il Piano metropolitano dell'economia sociale\n" + "=" * 50 in compiled.text


def test_text_lines_are_short_unless_they_hold_an_address(compiled: CompiledEdition) -> None:
    long_lines = [line for line in compiled.text.splitlines() if len(line) > 76]
    assert all("https://" in line and " " not in line.strip() for line in long_lines)


def test_the_colours_come_from_the_settings(
    edition: Edition, newsletter_settings: NewsletterSettings, links: EditionLinks
) -> None:
    colours = dataclasses.replace(newsletter_settings.colours, primary="#6a1b4d", link="#00529b")
    recoloured = dataclasses.replace(newsletter_settings, colours=colours)
    html = compile_edition(edition, recoloured, links).html
    assert "background:#6a1b4d" in html and "color:#00529b" in html


def test_the_seed_html_stays_well_under_gmails_clipping_size(compiled: CompiledEdition) -> None:
    assert len(compiled.html.encode("utf-8")) < GMAIL_CLIP_BYTES / 2


def test_compiling_is_deterministic(
    compiled: CompiledEdition,
    edition: Edition,
    newsletter_settings: NewsletterSettings,
    links: EditionLinks,
) -> None:
    assert compile_edition(edition, newsletter_settings, links) == compiled
    assert re.fullmatch(r"[0-9a-f]{64}", compiled.compiled_hash)
    assert re.fullmatch(r"[0-9a-f]{64}", compiled.content_hash)


def test_one_word_changes_both_hashes(
    compiled: CompiledEdition,
    edition: Edition,
    newsletter_settings: NewsletterSettings,
    links: EditionLinks,
) -> None:
    article = edition.articles[0]
    changed = dataclasses.replace(article, body=article.body.replace("quattro", "cinque", 1))
    other = compile_edition(
        dataclasses.replace(edition, articles=(changed,)), newsletter_settings, links
    )
    assert other.compiled_hash != compiled.compiled_hash
    assert other.content_hash != compiled.content_hash


def test_newsletter_settings_change_only_the_compiled_hash(
    compiled: CompiledEdition,
    edition: Edition,
    newsletter_settings: NewsletterSettings,
    links: EditionLinks,
) -> None:
    renamed = dataclasses.replace(
        newsletter_settings, reply_to="altro@cittametropolitana.torino.it"
    )
    other = compile_edition(edition, renamed, links)
    assert other.content_hash == compiled.content_hash
    assert other.compiled_hash != compiled.compiled_hash


def test_the_sentinels_survive_mjml_inside_href(compiled: CompiledEdition) -> None:
    assert f'href="{UNSUBSCRIBE_URL}"' in compiled.html
    assert f'href="{PREFERENCES_URL}"' in compiled.html


TRICKS = 'Risultato: {{ 7*7 }} e {% include "x" %} poi <script>alert(1)</script> e <b>grassetto</b>'


def test_template_syntax_and_html_in_an_article_come_out_as_written(
    edition: Edition, newsletter_settings: NewsletterSettings, links: EditionLinks
) -> None:
    tricky = with_article(edition, "Titolo {{ 7*7 }} <b>x</b>", TRICKS)
    result = compile_edition(tricky, newsletter_settings, links)
    assert TRICKS in visible_text(result.html)
    assert "Titolo {{ 7*7 }} <b>x</b>" in visible_text(result.html)
    assert TRICKS in normalise(result.text)
    assert "Risultato: 49" not in result.html + result.text
    assert "<script" not in result.html and "<b>" not in result.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in result.html


def test_template_syntax_and_html_in_the_front_matter_are_not_evaluated(
    edition: Edition, newsletter_settings: NewsletterSettings, links: EditionLinks
) -> None:
    cover = dataclasses.replace(
        edition.cover, title='{% include "x" %}', caption="<b>{{ 7*7 }}</b>"
    )
    tricky = dataclasses.replace(
        edition, subject="{{ 7*7 }} <i>", preheader="<b>{{ 7*7 }}</b>", cover=cover
    )
    result = compile_edition(tricky, newsletter_settings, links)
    assert "<title>{{ 7*7 }} &lt;i&gt;</title>" in result.html
    assert "&lt;b&gt;{{ 7*7 }}&lt;/b&gt;" in result.html
    assert '{% include "x" %}' in visible_text(result.html)
    assert '{% include "x" %}' in result.text and "<b>{{ 7*7 }}</b>" in result.text


def test_links_with_unsafe_schemes_are_not_links(
    edition: Edition, newsletter_settings: NewsletterSettings, links: EditionLinks
) -> None:
    body = (
        "[clic](javascript:alert(1)) e [sito](https://example.org/a?b=1&c=2) "
        "e [posta](mailto:a@example.org)"
    )
    result = compile_edition(with_article(edition, "Link", body), newsletter_settings, links)
    assert "javascript:" not in result.html.replace("[clic](javascript:alert(1))", "")
    assert 'href="https://example.org/a?b=1&amp;c=2"' in result.html
    assert 'href="mailto:a@example.org"' in result.html
    assert "sito <https://example.org/a?b=1&c=2>" in result.text
    assert "posta <mailto:a@example.org>" in normalise(result.text)


def test_article_images_get_a_width(
    edition: Edition, newsletter_settings: NewsletterSettings, links: EditionLinks
) -> None:
    body = "Ecco ![La sala piena](https://example.org/sala.jpg)"
    result = compile_edition(with_article(edition, "Foto", body), newsletter_settings, links)
    image = re.search(r'<img src="https://example.org/sala.jpg"[^>]*>', result.html)
    assert image and 'alt="La sala piena"' in image.group(0) and 'width="552"' in image.group(0)


def test_an_edition_for_another_newsletter_is_refused(
    edition: Edition, newsletter_settings: NewsletterSettings, links: EditionLinks
) -> None:
    with pytest.raises(ContentError, match="newsletter"):
        compile_edition(
            dataclasses.replace(edition, newsletter="altra"), newsletter_settings, links
        )


def test_unsafe_addresses_are_refused_even_without_the_parser(
    edition: Edition, newsletter_settings: NewsletterSettings, links: EditionLinks
) -> None:
    cover = dataclasses.replace(edition.cover, link="javascript:alert(1)")
    with pytest.raises(ContentError, match="javascript"):
        compile_edition(dataclasses.replace(edition, cover=cover), newsletter_settings, links)


def test_an_entity_cannot_spell_the_slot_marker(
    edition: Edition, newsletter_settings: NewsletterSettings, links: EditionLinks
) -> None:
    tricky = with_article(edition, "Marker", "Testo ZqSL&#79;TUNSUBx7Kq9w.")
    with pytest.raises(ContentError, match="slot marker"):
        compile_edition(tricky, newsletter_settings, links)


@pytest.mark.parametrize(
    ("mjml", "words"),
    [("<mjml>{{ edition.nope }}</mjml>", "nope"), ("<mjml><mj-body><mj-section></mjml>", "MJML")],
    ids=["template", "mjml"],
)
def test_template_and_mjml_errors_are_translated(
    mjml: str,
    words: str,
    tmp_path: Path,
    edition: Edition,
    newsletter_settings: NewsletterSettings,
    links: EditionLinks,
) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "edition.mjml.j2").write_text(mjml)
    (tmp_path / "email" / "edition.txt.j2").write_text("{{ edition.subject }}")
    with pytest.raises(TemplateError, match=words):
        compile_edition(edition, newsletter_settings, links, templates_dir=tmp_path)


def test_wrap_never_breaks_an_address() -> None:
    url = "https://www.example.org/" + "a" * 80
    assert wrap(f"Leggi qui <{url}> subito") == f"Leggi qui\n<{url}>\nsubito"


def test_markdown_to_text_keeps_lists_quotes_and_links() -> None:
    source = "Primo.\n\n- uno\n- due\n\n> citazione [qui](https://example.org)\n\n### Sotto\n\nFine"
    assert markdown_to_text(source) == (
        "Primo.\n\n- uno\n- due\n\n> citazione qui <https://example.org>\n\nSotto\n-----\n\nFine"
    )
