"""Finds the user-visible text of a Django template that is not marked for translation.

Walks the template with Django's own Lexer. Text inside {% translate %}, {% blocktranslate %},
comments, <script> and <style> is left alone; everything else that a person can read is checked:
the text between HTML tags, the attributes people read (title, alt, placeholder, aria-label,
data-label, data-confirm, value of a button), and string literals given to the `default` filter.
A run of text counts as readable when it holds a letter. TECHNICAL lists the few that are not
words of a language (units, codes, standard names), each with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.template.base import Lexer, TokenType

# Words that stay the same in every language, with why.
TECHNICAL = {
    "API",  # the product's name for its REST interface, in French too
    "ms",  # milliseconds: an SI unit symbol
    "UTC",  # a time standard's name
    "PDF", "JSON", "CSV",  # file formats
    "GPS",  # a system's name
    "TOTP",  # the standard two-factor algorithm's name
    "px",  # CSS pixels
    "k",  # the API's parameter for the number of results
    "fsk",  # the prefix of every API key, shown as typed
    "Redoc",  # the API documentation viewer's name
}
# Blocks whose content is a CSS class, not text.
CLASS_BLOCKS = {"main_class"}

PLACEHOLDER = "\x00"  # stands for any template tag or variable inside the joined text
READABLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "data-label", "data-confirm", "aria-description"}
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
_ATTRIBUTE = re.compile(r"([\w:-]+)\s*=\s*(\"[^\"]*\"|'[^']*')", re.S)
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_WORD = re.compile(r"[^\W\d_]+(?:['’.-][^\W\d_]+)*")
_DEFAULT_LITERAL = re.compile(r"\|default(?:_if_none)?:(\"[^\"]*\"|'[^']*')")
_TRANSLATION_BLOCKS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans",
                       "comment": "endcomment", "verbatim": "endverbatim"}


@dataclass(frozen=True)
class UnmarkedText:
    template: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.template}:{self.line}: {self.text!r}"


def _words(text: str) -> list[str]:
    text = _ENTITY.sub(" ", text.replace(PLACEHOLDER, " "))
    return [word for word in _WORD.findall(text) if word not in TECHNICAL]


def template_unmarked_text(path: Path, *, name: str | None = None) -> list[UnmarkedText]:
    name = name or str(path)
    source = path.read_text(encoding="utf-8")
    found: list[UnmarkedText] = []
    # The template's text with every tag and variable outside translation blocks as a placeholder,
    # and where each character came from (for line numbers).
    pieces: list[str] = []
    lines: list[int] = []
    closing: str | None = None
    for token in Lexer(source).tokenize():
        if closing:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == closing:
                closing = None
            continue
        if token.token_type == TokenType.BLOCK:
            keyword = token.contents.split()[0]
            if keyword in _TRANSLATION_BLOCKS:
                closing = _TRANSLATION_BLOCKS[keyword]
            elif keyword == "block" and token.contents.split()[1:2] and token.contents.split()[1] in CLASS_BLOCKS:
                closing = "endblock"
            pieces.append(PLACEHOLDER)
            lines.append(token.lineno)
        elif token.token_type == TokenType.VAR:
            for literal in _DEFAULT_LITERAL.findall(token.contents):
                if _words(literal[1:-1]):
                    found.append(UnmarkedText(name, token.lineno, literal))
            pieces.append(PLACEHOLDER)
            lines.append(token.lineno)
        elif token.token_type == TokenType.TEXT:
            pieces.append(token.contents)
            lines.append(token.lineno)
    text, offsets = "", []
    for piece, line in zip(pieces, lines):
        offsets.append((len(text), line, piece))
        text += piece

    def line_at(position: int) -> int:
        line = 1
        for start, token_line, piece in offsets:
            if start > position:
                break
            line = token_line + piece[: position - start].count("\n")
        return line

    if not name.endswith(".html"):  # plain-text e-mails and subjects: every word is read
        for match in re.finditer(r"[^\x00\n]+", text):
            if _words(match.group()):
                found.append(UnmarkedText(name, line_at(match.start()), match.group().strip()))
        return found

    text = re.sub(r"<!doctype[^>]*>", lambda m: " " * len(m.group()), text, flags=re.I)
    text = re.sub(r"<!--.*?-->", lambda m: " " * len(m.group()), text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", lambda m: " " * len(m.group()), text, flags=re.S | re.I)
    position = 0
    for tag in _TAG.finditer(text):
        between = text[position:tag.start()]
        if _words(between):
            found.append(UnmarkedText(name, line_at(position), " ".join(between.split())))
        is_button = tag.group(2).lower() == "input"  # a <button>'s value is never shown
        for attribute, value in _ATTRIBUTE.findall(tag.group(3)):
            readable = attribute.lower() in READABLE_ATTRIBUTES or (
                is_button and attribute.lower() == "value" and 'type="submit"' in tag.group(3))
            if readable and _words(value[1:-1]):
                found.append(UnmarkedText(name, line_at(tag.start()), f"{attribute}={value}"))
        position = tag.end()
    if _words(text[position:]):
        found.append(UnmarkedText(name, line_at(position), " ".join(text[position:].split())))
    return found
