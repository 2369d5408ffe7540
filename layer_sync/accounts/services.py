"""API tokens: issued, shown once, stored hashed, expiring, revoked.

Tokens are django-rest-knox's ``AuthToken`` rows: the database keeps a SHA-512 digest of
each key and its first 15 characters (the *prefix*, by which staff and commands list and
revoke it), never the key itself. The key exists only in what ``api_token_issue`` returns,
so the admin, a command or ``seed_demo`` shows it once, when it is made. Every token
expires (``API_TOKEN_TTL_DAYS`` by default, at most ``API_TOKEN_MAX_DAYS``); clients
keep sending ``Authorization: Token <key>``, DRF's scheme (``layer_sync.accounts.
authentication``).

Issuing a token for someone lets its holder act as them through the API, so it needs
the permission to add tokens, and for another user the permission to change users
(as setting their password would); only a superuser may issue a superuser's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from knox.models import get_token_model

logger = logging.getLogger(__name__)

ADD_TOKEN_PERMISSION = "knox.add_authtoken"  # noqa: S105 (a permission name)
CHANGE_USER_PERMISSION = "auth.change_user"


@dataclass(frozen=True)
class IssuedToken:
    """A token just made, with its key: the only time the key is known."""

    key: str
    prefix: str
    username: str
    expiry: datetime


def api_token_days_validate(days: int | None) -> int:
    """The token lifetime in whole days (the default when None); ValidationError outside
    1 to API_TOKEN_MAX_DAYS."""
    if days is None:
        return settings.API_TOKEN_TTL_DAYS
    if isinstance(days, bool) or not isinstance(days, int):
        raise ValidationError({"days": "A token's lifetime is a whole number of days."})
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ValidationError(
            {
                "days": f"A token lives from 1 to {settings.API_TOKEN_MAX_DAYS} days "
                f"(API_TOKEN_MAX_DAYS); {days} is outside that."
            }
        )
    return days


def api_token_issue_refusal(*, issuer: AbstractBaseUser | None, user: AbstractBaseUser) -> str:
    """Why ``issuer`` may not issue ``user`` a token ("" when they may). ``issuer=None`` is
    an operator at the command line, who may."""
    if not user.is_active:
        return f"{user.get_username()} is inactive: an inactive user's token would not work."
    if issuer is None:
        return ""
    if not issuer.has_perm(ADD_TOKEN_PERMISSION):
        return f"Issuing API tokens needs the permission {ADD_TOKEN_PERMISSION}."
    if issuer.pk != user.pk and not issuer.has_perm(CHANGE_USER_PERMISSION):
        return (
            f"Issuing a token for another user needs the permission {CHANGE_USER_PERMISSION} "
            "(the token acts as that user)."
        )
    if user.is_superuser and not issuer.is_superuser:
        return f"Only a superuser may issue a token for the superuser {user.get_username()}."
    return ""


@transaction.atomic
def api_token_issue(
    *,
    user: AbstractBaseUser,
    days: int | None = None,
    issuer: AbstractBaseUser | None = None,
    replace_existing: bool = False,
) -> IssuedToken:
    """Make a token for ``user`` living ``days`` (the default lifetime when None) and
    return it with its key, which is stored nowhere. ``replace_existing`` revokes the
    user's other tokens first. ValidationError when ``issuer`` may not, or ``days`` is
    out of bounds."""
    lifetime = api_token_days_validate(days)
    refusal = api_token_issue_refusal(issuer=issuer, user=user)
    if refusal:
        raise ValidationError(refusal)
    if replace_existing:
        api_tokens_revoke(tokens=get_token_model().objects.filter(user=user), by=issuer)
    token, key = get_token_model().objects.create(user=user, expiry=timedelta(days=lifetime))
    logger.info(
        "API token %s... issued for %s by %s, expiring %s",
        token.token_key,
        user.get_username(),
        issuer.get_username() if issuer is not None else "the command line",
        token.expiry.isoformat(),
    )
    return IssuedToken(
        key=key, prefix=token.token_key, username=user.get_username(), expiry=token.expiry
    )


@transaction.atomic
def api_tokens_revoke(*, tokens: Iterable, by: AbstractBaseUser | None = None) -> int:
    """Revoke (delete) ``tokens``: a client using one is refused from its next request.
    Returns how many were revoked."""
    revoked = 0
    for token in list(tokens):
        logger.info(
            "API token %s... of %s revoked by %s",
            token.token_key,
            token.user.get_username(),
            by.get_username() if by is not None else "the command line",
        )
        token.delete()
        revoked += 1
    return revoked
