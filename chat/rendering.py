"""Message text to safe HTML, once at send or edit time: a small Markdown subset, then nh3.

Mentions of channel members (@name) are highlighted; code spans and blocks are left alone.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

MENTION = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).disable(
    ["heading", "lheading", "image", "hr", "html_block", "html_inline", "reference"]
)

ALLOWED_TAGS = {"p", "br", "em", "strong", "code", "pre", "a", "ul", "ol", "li", "blockquote", "span"}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "span": {"class"}, "ol": {"start"}}


@dataclass(frozen=True)
class Rendered:
    html: str
    mentions: frozenset[str]


def mention_candidates(text: str) -> set[str]:
    return {name.lower().rstrip(".") for name in MENTION.findall(text)}


def render_message(text: str, *, members_among: Callable[[Iterable[str]], set[str]] | None = None) -> Rendered:
    """Render `text`. `members_among(names)` answers which of the lower-cased names are members,
    so the caller does one query for the names actually written, not one per member."""
    tokens = _markdown.parse(text)
    candidates = mention_candidates(text)
    members = members_among(candidates) if (members_among and candidates) else set()
    mentioned: set[str] = set()
    if members:
        for token in tokens:
            if token.type == "inline" and token.children:
                token.children = _highlight_mentions(token.children, members, mentioned)
    raw = _markdown.renderer.render(tokens, _markdown.options, {})
    clean = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener nofollow ugc",
    )
    return Rendered(html=clean.strip(), mentions=frozenset(mentioned))


def _highlight_mentions(children: list[Token], members: set[str], mentioned: set[str]) -> list[Token]:
    result: list[Token] = []
    inside_link = 0
    for child in children:
        if child.type == "link_open":
            inside_link += 1
        elif child.type == "link_close":
            inside_link -= 1
        if child.type != "text" or inside_link:
            result.append(child)
            continue
        result.extend(_split_text(child, members, mentioned))
    return result


def _split_text(token: Token, members: set[str], mentioned: set[str]) -> list[Token]:
    pieces: list[Token] = []
    position = 0
    for match in MENTION.finditer(token.content):
        name = match.group(1).rstrip(".")
        if name.lower() not in members:
            continue
        start, end = match.start(), match.start() + 1 + len(name)
        if start > position:
            pieces.append(Token("text", "", 0, content=token.content[position:start]))
        span = f'<span class="mention">@{html.escape(name)}</span>'
        pieces.append(Token("html_inline", "", 0, content=span))
        mentioned.add(name.lower())
        position = end
    if not pieces:
        return [token]
    if position < len(token.content):
        pieces.append(Token("text", "", 0, content=token.content[position:]))
    return pieces
