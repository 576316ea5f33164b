"""Hypothesis strategies shared by the fuzz tests: hostile text of every kind."""

from __future__ import annotations

from hypothesis import strategies as st

#: Characters people paste, and those attackers choose: controls, line breaks of every
#: kind, direction marks, zero-width joiners, emoji, a BOM, and ordinary letters.
AWKWARD = (
    "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x7f\x85\xa0\u2028\u2029"
    "\u200b\u200d\u200e\u200f\u202a\u202e\u2066\u2069\ufeff\ufffd\ufffe\uffff"
    "àèéìòùÀÉ«»“”’–—€ΩЖ中文日本語\U0001f600\U0001f1ee\U0001f1f9"
    " \"'<>&;:,.@\\/=?#%{}[]()|*!-_~`$^+"
)

#: Any code point but lone surrogates, which no file or form can carry.
any_char = st.characters(codec="utf-8")

#: Text drawn mostly from :data:`AWKWARD`, sometimes from anywhere in Unicode.
awkward_text = st.text(st.one_of(st.sampled_from(AWKWARD), any_char), max_size=80)

#: Template syntax and markup that must come out as written, never evaluated.
TRICKS = (
    "{{ 7*7 }}",
    "{{7*'7'}}",
    "{% include 'x' %}",
    "{% for x in range(9) %}x{% endfor %}",
    "{# nascosto #}",
    "{{ config.__class__ }}",
    "<script>alert(1)</script>",
    "<b>grassetto</b>",
    "<img src=x onerror=alert(1)>",
    "</mj-text>",
    "<mj-raw>",
    "<!-- commento -->",
    "${7*7}",
    "#{7*7}",
    "&amp;",
    "a & b",
    '"virgolette"',
    "l'apostrofo",
)
