"""Untrusted text (prompts, model answers, claims, guidelines) as safe HTML.

Two independent layers: markdown-it-py with raw HTML disabled (a ``<script>`` in the text comes
out as the literal characters) and its link validation (no ``javascript:``/``vbscript:``/
``data:`` links), then nh3 (Rust ``ammonia``) with a short allow-list of tags, no attributes
but ``href``/``title``, and only http(s)/mailto URLs. Images are not rendered (no tracking
pixels in model output); links open in a new tab with ``rel="noopener noreferrer nofollow"``.
The page's Content-Security-Policy (``script-src 'self'``) is a third layer.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

TAGS = {"p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
        "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td", "sup",
        "sub", "kbd"}
ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


def _parser(breaks: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": breaks, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("image")
    return md


_TEXT = _parser(breaks=True)     # model text: a newline is a line break, as its author meant
_DOC = _parser(breaks=False)     # guidelines: ordinary markdown documents


def sanitize(html: str) -> str:
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer nofollow",
                     set_tag_attribute_values={"a": {"target": "_blank"}},
                     clean_content_tags={"script", "style"}, strip_comments=True)


def markdown(text: object, *, document: bool = False) -> Markup:
    """Sanitised HTML for ``text`` (anything not a string is shown as its string form)."""
    if text is None:
        return Markup("")
    source = text if isinstance(text, str) else str(text)
    html = (_DOC if document else _TEXT).render(source)
    return Markup(sanitize(html))
