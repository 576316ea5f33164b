"""The texts of newsletter sections and languages on the public pages (issue 14)."""

from __future__ import annotations

from dispatcher.web.i18n import add_texts

TEXTS = {
    "it": {
        "sections.legend": "Sezioni che ti interessano",
        "sections.what": "Ogni edizione ti porta sempre la copertina, gli articoli in "
        "evidenza e gli articoli che non appartengono a una sezione. Degli articoli "
        "divisi per sezione riceverai solo quelli delle sezioni che scegli qui.",
        "sections.none": "Se non ne scegli nessuna riceverai tutti gli articoli.",
        "sections.of": "Sezioni di {name}",
        "sections.not_divided": "Le newsletter a cui sei iscritto non sono divise in "
        "sezioni: ricevi ogni articolo.",
        "sections.language_what": "In inglese ricevi i testi che la redazione ha tradotto "
        "(gli altri restano in italiano) e in inglese anche le parti fisse dell'email: "
        "data, collegamenti e piè di pagina.",
        "sections.signup_legend": "Sezioni (facoltativo)",
        "sections.by_variant": "Per variante dell'edizione (lingua: sezioni)",
        "sections.preview_languages": "L'edizione ha anche una versione in altre lingue: "
        "l'approvazione copre anche quella. Mostra:",
    },
    "en": {
        "sections.legend": "Sections you are interested in",
        "sections.what": "Every edition always brings you the cover story, the highlights "
        "and the articles that belong to no section. Of the articles divided by section "
        "you will receive only those of the sections you choose here.",
        "sections.none": "If you choose none you will receive every article.",
        "sections.of": "Sections of {name}",
        "sections.not_divided": "The newsletters you subscribe to are not divided into "
        "sections: you receive every article.",
        "sections.language_what": "In English you receive the texts the editors translated "
        "(the others stay in Italian), and the fixed parts of the email in English too: "
        "the date, the links and the footer.",
        "sections.signup_legend": "Sections (optional)",
        "sections.by_variant": "By edition variant (language: sections)",
        "sections.preview_languages": "The edition also has a version in other languages: "
        "the approval covers it too. Show:",
    },
}

add_texts(TEXTS)
