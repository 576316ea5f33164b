"""Texts of the site's frame: the header, the footer and the web version's bar."""

from __future__ import annotations

from dispatcher.web.i18n import add_texts

TEXTS = {
    "it": {
        "site.publisher": "Città metropolitana di Torino",
        "site.privacy": "Informativa sulla privacy",
        "site.admin_nav_open": "Menu della redazione",
        "web.back": "Tutti i numeri di {name}",
        "web.subscribe": "Iscriviti",
        "web.nav": "Newsletter",
        "pager.label": "Pagine",
        "pager.older": "Più vecchi",
        "pager.newest": "I più recenti",
    },
    "en": {
        "site.publisher": "Metropolitan City of Turin",
        "site.privacy": "Privacy notice",
        "site.admin_nav_open": "Newsroom menu",
        "web.back": "All issues of {name}",
        "web.subscribe": "Subscribe",
        "web.nav": "Newsletter",
        "pager.label": "Pages",
        "pager.older": "Older",
        "pager.newest": "Newest",
    },
}
add_texts(TEXTS)
