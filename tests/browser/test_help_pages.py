"""The help pages in a real browser: reached from the admin's header, every document
readable at a 1,366 px window with no sideways scrolling (wide tables and code scroll in
their own box), under the Content-Security-Policy (the harness fails on a violation)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_help_is_reached_from_the_header_and_every_page_fits_the_window(staff_page):
    staff_page.set_viewport_size({"width": 1366, "height": 768})
    staff_page.click("#help-link")
    staff_page.wait_for_url("**/help/")
    names = sorted(path.stem for path in DOCS.glob("*.md"))
    assert staff_page.locator(".help-index li a").count() == len(names)

    for name in names:
        staff_page.goto(f"/help/{name}/")
        width = staff_page.evaluate("document.documentElement.scrollWidth")
        window = staff_page.evaluate("document.documentElement.clientWidth")
        assert width <= window, f"/help/{name}/ is {width} px wide in a {window} px window"
        assert staff_page.locator(".help-page h1").count() == 1
