"""Help pages served by the product, instead of links to repository paths.

The issue: the call-charge import page sent staff to `docs/connect.md`, a file of the
repository that a user of the running product cannot open. The documents are served at
/help/<page>/ (rendered from docs/*.md), for signed-in staff.
"""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs"


def first_heading(name: str) -> str:
    return next(
        line[2:].strip()
        for line in (DOCS / f"{name}.md").read_text().splitlines()
        if line.startswith("# ")
    )


def test_the_help_index_lists_every_document_by_its_title(superuser_client):
    response = superuser_client.get("/help/")

    assert response.status_code == 200
    html = response.content.decode()
    for path in DOCS.glob("*.md"):
        title = first_heading(path.stem)
        assert f'<a href="/help/{path.stem}/">' in html
        assert title.replace('"', "&quot;") in html or title in html


def test_a_help_page_renders_its_document_as_html(superuser_client):
    response = superuser_client.get("/help/connect/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1 id=" in html and first_heading("connect") in html
    # Markdown rendered, not shown raw: the sections are headings, the tables tables.
    assert '<h2 id="call-charge-imports">Call charge imports</h2>' in html
    assert "<table>" in html
    assert "\n## " not in html


def test_links_between_documents_lead_to_their_help_pages(superuser_client):
    source = (DOCS / "configuration.md").read_text()
    assert "](security.md" in source  # the document links to another by its file name

    html = superuser_client.get("/help/configuration/").content.decode()

    assert 'href="/help/security/' in html
    assert 'href="security.md' not in html


def test_an_unknown_or_malformed_page_is_a_404(superuser_client):
    assert superuser_client.get("/help/no-such-page/").status_code == 404
    assert superuser_client.get("/help/..%2Fsettings/").status_code == 404


def test_help_is_for_signed_in_staff(client):
    response = client.get("/help/connect/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_every_admin_page_links_to_help(superuser_client):
    html = superuser_client.get("/admin/").content.decode()

    assert '<a href="/help/" id="help-link">Help</a>' in html


def test_the_call_charge_import_page_links_to_the_file_format_help_not_a_repository_path(
    superuser_client,
):
    html = superuser_client.get("/admin/billing/chargeimport/add/").content.decode()

    assert "docs/connect.md" not in html
    link = re.search(r'href="(/help/connect/#[^"]+)"', html)
    assert link
    anchor = link.group(1).split("#")[1]
    page = superuser_client.get("/help/connect/").content.decode()
    assert f'id="{anchor}"' in page  # the file format section of the page


def test_the_api_schema_names_the_help_page_not_a_repository_path(superuser_client):
    schema = superuser_client.get("/api/schema/").content.decode()

    assert "docs/connect.md" not in schema
    assert "/help/connect/" in schema
