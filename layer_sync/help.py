"""Help pages served by the product: the documentation in ``docs/`` at ``/help/<page>/``.

Pages used to send staff to repository paths ("see docs/connect.md"), which a user of the
running product cannot open. Each ``docs/<page>.md`` is rendered here (Python-Markdown,
with tables, fenced code and heading anchors) inside the admin's frame, for signed-in
staff; links between the documents lead to their help pages. The documents are the
project's own files, so their HTML is trusted as written.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import markdown
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

PAGE_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
DOC_LINK = re.compile(
    r"^(?:\./|docs/|\.\./docs/)?(?P<page>[a-z0-9][a-z0-9-]*)\.md(?P<anchor>#.*)?$"
)


def docs_dir() -> Path:
    return Path(settings.BASE_DIR) / "docs"


def pages() -> dict[str, str]:
    """Each help page's name (its file's, without ``.md``) and title (its first heading)."""
    found = {}
    for path in sorted(docs_dir().glob("*.md")):
        if PAGE_NAME.fullmatch(path.stem):
            found[path.stem] = _title(path.read_text(encoding="utf-8"), path.stem)
    return found


def _title(text: str, fallback: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return fallback


def help_url(page: str, anchor: str = "") -> str:
    return reverse("help-page", args=[page]) + anchor


class _DocLinks(Treeprocessor):
    """``connect.md#section`` (or ``docs/connect.md``) → that page's help URL."""

    def __init__(self, md: markdown.Markdown, known: set[str]) -> None:
        super().__init__(md)
        self.known = known

    def run(self, root: ET.Element) -> None:
        for link in root.iter("a"):
            match = DOC_LINK.match(link.get("href", ""))
            if match and match["page"] in self.known:
                link.set("href", help_url(match["page"], match["anchor"] or ""))


class _DocLinksExtension(Extension):
    def __init__(self, known: set[str]) -> None:
        super().__init__()
        self.known = known

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_DocLinks(md, self.known), "layer_sync_doc_links", 5)


@cache
def _rendered(path: Path, modified: float, known: frozenset[str]) -> str:
    """The page's HTML (cached per file version)."""
    converter = markdown.Markdown(
        extensions=["tables", "fenced_code", "toc", "sane_lists", _DocLinksExtension(set(known))],
        extension_configs={"toc": {"permalink": False}},
    )
    return converter.convert(path.read_text(encoding="utf-8"))


def render_page(page: str) -> tuple[str, str]:
    """The title and HTML of a help page; Http404 for a page that does not exist."""
    known = pages()
    if page not in known:
        raise Http404(f'There is no help page "{page}".')
    path = docs_dir() / f"{page}.md"
    return known[page], _rendered(path, path.stat().st_mtime, frozenset(known))


@staff_member_required
def help_index(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Help",
        "pages": [{"name": n, "title": t, "url": help_url(n)} for n, t in pages().items()],
    }
    return render(request, "help/index.html", context)


@staff_member_required
def help_page(request: HttpRequest, page: str) -> HttpResponse:
    title, html = render_page(page)
    context = {
        **admin.site.each_context(request),
        "title": title,
        "body": mark_safe(html),  # noqa: S308 (the project's own documents, not user input)
    }
    return render(request, "help/page.html", context)
