"""The site's root leads to the admin (issue: `/` and the admin's "View site" gave a 404)."""

import pytest

pytestmark = pytest.mark.django_db


def test_root_redirects_to_the_admin(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_the_admins_view_site_link_leads_to_a_page_not_a_404(superuser_client):
    admin_index = superuser_client.get("/admin/")
    view_site = admin_index.context["site_url"]

    followed = superuser_client.get(view_site, follow=True)

    assert followed.status_code == 200
    assert followed.redirect_chain[-1][0] == "/admin/"
