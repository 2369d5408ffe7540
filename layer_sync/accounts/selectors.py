"""Reads of API tokens: by user, by prefix, and whether a token still works."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from knox.models import get_token_model

from layer_sync.input_checks import text_problem

# Fewer characters could name many tokens by chance.
MIN_PREFIX_LENGTH = 6


def api_tokens(*, username: str | None = None) -> QuerySet:
    """Tokens (newest first) with their users, of one user when ``username`` is given."""
    tokens = get_token_model().objects.select_related("user").order_by("-created")
    if username is not None:
        tokens = tokens.filter(user__username=username)
    return tokens


def api_token_state(token) -> str:
    """The token's state: "active" or "expired"."""
    if token.expiry is not None and token.expiry <= timezone.now():
        return "expired"
    return "active"


def api_token_by_prefix(prefix: str):
    """The one token whose prefix starts with ``prefix``; ValidationError when none or
    several do, or the prefix is too short to name one."""
    prefix = prefix.strip().removesuffix("...").removesuffix("…")
    if len(prefix) < MIN_PREFIX_LENGTH:
        raise ValidationError(
            f"Give at least {MIN_PREFIX_LENGTH} characters of the token's prefix "
            "(manage.py api_token list shows them)."
        )
    if not re.fullmatch(r"[0-9a-f]+", prefix):
        raise ValidationError(f'A token prefix is hexadecimal (0-9, a-f); "{prefix[:20]}" is not.')
    found = list(api_tokens().filter(token_key__startswith=prefix[:15])[:2])
    if not found:
        raise ValidationError(f'No API token has the prefix "{prefix}".')
    if len(found) > 1:
        raise ValidationError(f'Several API tokens start with "{prefix}": give more of it.')
    return found[0]


def user_by_username(username: str):
    """The user named ``username``; ValidationError naming the problem when there is none."""
    problem = text_problem(username, where="The user name")
    if problem:
        raise ValidationError(problem)
    user_model = get_user_model()
    try:
        return user_model._default_manager.get_by_natural_key(username)
    except user_model.DoesNotExist:
        raise ValidationError(f'No user is named "{username}".') from None
