"""Which URLs a page may put in a link.

A platform's answer can hold any text where a URL is expected; put into ``href``, a
``javascript:`` or ``data:`` URL runs in the page when a member of staff clicks it
(Django's escaping keeps the attribute well-formed, not the scheme safe). Pages link only
to absolute ``http``/``https`` URLs with a host; anything else is shown as text.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LINK_SCHEMES = ("http", "https")


def link_url(value: object) -> str:
    """``value`` when it is an absolute http(s) URL with a host, else ""."""
    text = str(value or "").strip()
    if not text or any(char.isspace() or ord(char) < 32 for char in text):
        return ""
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.hostname:
        return ""
    return text
