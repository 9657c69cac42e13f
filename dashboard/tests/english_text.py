"""One place for the heuristic "is there English left on this page?", so it is easy to adjust.

A page's visible text is its text nodes (not scripts, styles or templates) plus the words a
person reads on controls (submit buttons' values, placeholders). A word counts as English
when it has four or more Latin letters and does not sit in a code-like token: anything with
a digit, ``_``, ``@``, ``/``, ``:``, ``=``, ``*`` or ``.`` inside it (usernames, certificate
and voucher numbers, credit codes, masked password hashes, file names, URLs) is data, not a
label. Allowed words are names that stay in Latin letters in Chinese text as well.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

ALLOWED = {"API", "Excel", "SHA", "JSON", "HTTP", "HTTPS", "HTML", "XLSX", "CSV", "UTC", "MOHRSS"}
HIDDEN_TAGS = {"script", "style", "template", "noscript"}
CODE_LIKE = re.compile(r"[\d_@/:=*.]")
WORD = re.compile(r"[A-Za-z]{4,}")


class _VisibleText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hidden_depth = 0
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in HIDDEN_TAGS:
            self.hidden_depth += 1
            return
        attributes = dict(attrs)
        if (
            tag == "input"
            and attributes.get("type") in {"submit", "button", "reset"}
            and attributes.get("value")
        ):
            self.chunks.append(attributes["value"])
        if attributes.get("placeholder"):
            self.chunks.append(attributes["placeholder"])

    def handle_endtag(self, tag):
        if tag in HIDDEN_TAGS and self.hidden_depth:
            self.hidden_depth -= 1

    def handle_data(self, data):
        if not self.hidden_depth and data.strip():
            self.chunks.append(data.strip())


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return "\n".join(parser.chunks)


def english_words(text: str, *, ignore: set[str] = frozenset()) -> set[str]:
    """The English-looking words of ``text``; ``ignore`` holds data values (e.g. usernames)."""
    found = set()
    for token in text.split():
        token = token.strip("()[]{}<>,;!?\"'“”‘’，。；：！？（）【】《》、")
        if not token or token in ignore or CODE_LIKE.search(token):
            continue
        for word in WORD.findall(token):
            if word not in ALLOWED and word not in ignore:
                found.add(word)
    return found
