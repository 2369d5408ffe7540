"""The admin site's own pages: branding and the way to the API docs."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory


@pytest.mark.django_db
def test_admin_pages_link_staff_to_the_api_docs(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert f'href="{reverse("api-docs")}"' in response.content.decode()
    assert "layer_sync back office" in response.content.decode()
