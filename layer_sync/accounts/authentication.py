"""``Authorization: Token <key>``, DRF's scheme, checked against hashed keys.

django-rest-knox's authentication (the digest of the key compared with the stored one,
expired tokens refused and deleted), with the key's shape checked first: a key is
hexadecimal, 40 characters for one issued by DRF before this product hashed its tokens
(``migrations/0001``) and 64 for one issued since. Anything else (a NUL byte, a non-ASCII
byte, a key of another length) is refused with the same 401 as a wrong key, before it is
decoded or looked up (knox would otherwise raise UnicodeDecodeError or hand the database a
NUL: a 500).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from rest_framework import exceptions

KEY_SHAPE = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")


class HashedTokenAuthentication(TokenAuthentication):
    """Token authentication against knox's hashed tokens, refusing malformed keys."""

    def authenticate_credentials(self, token: bytes):
        if not KEY_SHAPE.fullmatch(token):
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return super().authenticate_credentials(token)
