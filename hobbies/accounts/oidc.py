"""OpenID Connect sign-in through mozilla-django-oidc: claim mapping, the backend, callback and sign-out.

Settings (hobbies/settings.py, "OpenID Connect sign-in") switch this on; account changes go
through hobbies.accounts.services. The backend's dotted path contains "oidc", which is how the
post-authentication hook records the sign-in method.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils.module_loading import import_string
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from hobbies.accounts import services
from hobbies.accounts.forms import PENDING_MESSAGE, REJECTED_MESSAGE
from hobbies.accounts.models import Approval, User

SIGN_IN_FAILED_MESSAGE = "Signing in with {label} did not succeed. Try again, or contact your administrator."
# Claims that may carry a user name, best first. Cognito's own username is a UUID when the pool
# signs in by email, so a preferred_username the person chose wins over it.
USERNAME_CLAIMS = ("preferred_username", "cognito:username")
_NOT_IN_USERNAME = re.compile(r"[^\w.@+-]+")


def sanitise_username(raw: str) -> str:
    """Fit a claim into Django's user name alphabet (letters, digits and @.+-_), 140 characters at most."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    return _NOT_IN_USERNAME.sub("_", text).strip("_")[:140]


def username_wish(claims: Mapping[str, Any]) -> str:
    email = claims.get("email") or ""
    candidates = [claims.get(name) or "" for name in USERNAME_CLAIMS]
    candidates += [email.partition("@")[0], claims.get("sub") or ""]
    return next((name for name in map(sanitise_username, candidates) if name), "member")


def claim_groups(claims: Mapping[str, Any], claim: str) -> frozenset[str]:
    """Groups arrive as a JSON list (Cognito, most providers) or, from some, as one space or comma separated string."""
    value = claims.get(claim) or []
    if isinstance(value, str):
        value = re.split(r"[\s,]+", value)
    return frozenset(str(group) for group in value if group)


def account_from_claims(claims: Mapping[str, Any], *, issuer: str) -> services.OidcAccount:
    """Map the provider's claims onto an account; every claim but sub may be missing."""
    given, family = claims.get("given_name") or "", claims.get("family_name") or ""
    name = claims.get("name") or " ".join(part for part in (given, family) if part)
    return services.OidcAccount(
        issuer=issuer,
        subject=str(claims["sub"]),
        username=username_wish(claims),
        email=(claims.get("email") or "")[:254],
        first_name=given[:150],
        last_name=family[:150],
        display_name=name,
        groups=claim_groups(claims, settings.OIDC_GROUPS_CLAIM),
    )


class CommunityOIDCBackend(OIDCAuthenticationBackend):
    """Accounts are found by issuer + subject (never by email or name), created and refreshed by services."""

    def verify_claims(self, claims: Mapping[str, Any]) -> bool:
        # Only sub is required: missing email or name claims fall back (see account_from_claims).
        return bool(claims.get("sub"))

    def get_userinfo(self, access_token: str, id_token: str, payload: dict) -> dict:
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo response is about another subject than the ID token.")
        # Cognito puts groups in the ID token only; userinfo has the profile claims. Take both.
        return {**payload, **userinfo}

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict) -> User | None:
        check_id_token(payload)
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims):
            raise SuspiciousOperation("Claims verification failed")
        return services.create_or_update_oidc_user(
            account_from_claims(claims, issuer=payload["iss"]),
            require_approval=settings.OIDC_REQUIRE_APPROVAL,
            admin_groups=settings.OIDC_ADMIN_GROUPS,
        )


def check_id_token(payload: Mapping[str, Any]) -> None:
    """mozilla-django-oidc checks signature and nonce; the issuer and audience are checked here."""
    expected_issuer = settings.OIDC_OP_ISSUER
    if expected_issuer and payload.get("iss", "").rstrip("/") != expected_issuer.rstrip("/"):
        raise SuspiciousOperation("The ID token comes from another issuer.")
    if not payload.get("iss"):
        raise SuspiciousOperation("The ID token names no issuer.")
    audience = payload.get("aud") or []
    if settings.OIDC_RP_CLIENT_ID not in ([audience] if isinstance(audience, str) else audience):
        raise SuspiciousOperation("The ID token was issued for another client.")


class CallbackView(OIDCAuthenticationCallbackView):
    """Sends a refused sign-in back to the sign-in page with the reason (pending approval, or failure)."""

    def login_failure(self) -> HttpResponse:
        user = getattr(self, "user", None)
        if user is not None and not user.is_active:
            messages.info(self.request, REJECTED_MESSAGE if user.approval == Approval.REJECTED else PENDING_MESSAGE)
        else:
            messages.error(self.request, SIGN_IN_FAILED_MESSAGE.format(label=settings.OIDC_PROVIDER_LABEL))
        return redirect("accounts-signin")


def signed_in_with_oidc(session: SessionBase) -> bool:
    backend = session.get(BACKEND_SESSION_KEY)
    if not backend:
        return False
    try:
        return issubclass(import_string(backend), OIDCAuthenticationBackend)
    except ImportError:
        return False  # a backend since removed from the code: Django signs that session out anyway


def session_expiry(session: SessionBase) -> float | None:
    """When this session's ID token expires (epoch seconds), or None for a session not signed in with OIDC."""
    if not settings.OIDC_ENABLED or not signed_in_with_oidc(session):
        return None
    return float(session.get("oidc_id_token_expiration", 0))


def session_expired(session: SessionBase) -> bool:
    expiry = session_expiry(session)
    return expiry is not None and expiry <= time.time()


def provider_logout_url(request: HttpRequest) -> str:
    """OIDC_OP_LOGOUT_URL_METHOD: where to send the browser to end the provider's session too."""
    back = request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL))
    if not settings.OIDC_OP_LOGOUT_ENDPOINT:
        return back
    params = {"client_id": settings.OIDC_RP_CLIENT_ID, settings.OIDC_OP_LOGOUT_REDIRECT_PARAM: back}
    id_token = request.session.get("oidc_id_token")
    if id_token and settings.OIDC_OP_LOGOUT_REDIRECT_PARAM == "post_logout_redirect_uri":
        # RP-initiated logout: the hint tells the provider whose session ends (Cognito takes none).
        params["id_token_hint"] = id_token
    return f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{urlencode(params)}"


def logout_url(request: HttpRequest) -> str | None:
    """The provider's sign-out address for a session signed in with OIDC, else None (sign out here only)."""
    if not settings.OIDC_ENABLED or not settings.OIDC_OP_LOGOUT_ENDPOINT or not signed_in_with_oidc(request.session):
        return None
    return import_string(settings.OIDC_OP_LOGOUT_URL_METHOD)(request)
