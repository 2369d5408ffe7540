"""Admin of API tokens and the users they are issued to.

- *API tokens* (knox's ``AuthToken``) lists each token by its prefix, user, creation and
  expiry, never its key (which is not stored) nor its digest. Deleting a token (one, or
  the selected ones after the usual confirmation) revokes it through the service.
  Tokens are not added here: the key must be shown at once, which the Users action does.
- *Users* gains the action *Issue an API token*: pick the lifetime, and the next page
  shows each new key once (not cached by the browser), with its expiry.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from knox.models import get_token_model

from layer_sync.admin import refusal_text

from .selectors import api_token_state
from .services import ADD_TOKEN_PERMISSION, api_token_issue, api_tokens_revoke

AuthToken = get_token_model()
User = get_user_model()

admin.site.unregister(AuthToken)  # knox's lists every digest; this one lists prefixes


@admin.register(AuthToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens by prefix; delete revokes. Issue one from *Users* or the command line."""

    list_display = ("prefix", "user", "created", "expiry", "state")
    list_select_related = ("user",)
    list_filter = ("expiry",)
    search_fields = ("token_key", "user__username")
    ordering = ("-created",)
    fields = ("prefix", "user", "created", "expiry", "state")
    readonly_fields = fields

    @admin.display(description="prefix", ordering="token_key")
    def prefix(self, token) -> str:
        return f"{token.token_key}…"

    @admin.display(description="state")
    def state(self, token) -> str:
        return api_token_state(token)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a key must be shown when made: Users → Issue an API token

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a token is issued or revoked, never edited

    def delete_model(self, request: HttpRequest, obj) -> None:
        api_tokens_revoke(tokens=[obj], by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        api_tokens_revoke(tokens=queryset.select_related("user"), by=request.user)


admin.site.unregister(User)


@admin.register(User)
class UserWithTokensAdmin(UserAdmin):
    """Django's user admin, with the action that issues API tokens."""

    actions = ["issue_api_token"]

    def has_issue_api_token_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ADD_TOKEN_PERMISSION)

    @admin.action(description="Issue an API token", permissions=["issue_api_token"])
    def issue_api_token(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """First a page to choose the lifetime; then each key, shown this once."""
        days_text = request.POST.get("days", "")
        context = {
            **self.admin_site.each_context(request),
            "title": "Issue an API token",
            "opts": self.model._meta,
            "users": list(queryset),
            "action": "issue_api_token",
            "checkbox_name": ACTION_CHECKBOX_NAME,
            "days": days_text or settings.API_TOKEN_TTL_DAYS,
            "max_days": settings.API_TOKEN_MAX_DAYS,
        }
        if request.POST.get("confirmed") != "yes":
            return TemplateResponse(request, "admin/accounts/issue_token.html", context)
        days = int(days_text) if days_text.isascii() and days_text.isdigit() else -1
        issued, refused = [], []
        for user in queryset:
            try:
                issued.append(api_token_issue(user=user, days=days, issuer=request.user))
            except ValidationError as error:
                refused.append(f"{user.get_username()}: {refusal_text(error)}")
        if refused:
            self.message_user(request, "Not issued: " + " | ".join(refused), messages.WARNING)
        if not issued:
            context["refused"] = refused
            return TemplateResponse(request, "admin/accounts/issue_token.html", context)
        response = TemplateResponse(
            request,
            "admin/accounts/issued_tokens.html",
            {**context, "title": "API tokens issued", "issued": issued, "refused": refused},
        )
        # The page holds keys: never kept by the browser or a proxy.
        add_never_cache_headers(response)
        patch_cache_control(response, no_store=True, private=True)
        return response
