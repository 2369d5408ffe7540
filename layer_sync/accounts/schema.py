"""The OpenAPI security scheme of the API's token authentication.

Named ``tokenAuth`` as it was when the API used DRF's token class, so the schema's
interface for clients does not change: ``Authorization: Token <key>``.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class HashedTokenScheme(OpenApiAuthenticationExtension):
    target_class = "layer_sync.accounts.authentication.HashedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )
