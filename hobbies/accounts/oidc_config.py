"""Where the OpenID Connect provider's endpoints come from: explicit settings, the Cognito preset, or discovery.

settings.py reads the environment; this module turns those values into the endpoints
mozilla-django-oidc needs and refuses a configuration that could not work, at start-up
(ImproperlyConfigured) rather than at the first sign-in. It imports nothing from Django but the
exception, so settings.py can call it before Django is set up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

import requests
from django.core.exceptions import ImproperlyConfigured

WELL_KNOWN = "/.well-known/openid-configuration"

# Endpoints field -> the environment variable (and Django setting) that sets it explicitly.
ENDPOINT_SETTINGS = {
    "authorization": "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "token": "OIDC_OP_TOKEN_ENDPOINT",
    "userinfo": "OIDC_OP_USER_ENDPOINT",
    "jwks": "OIDC_OP_JWKS_ENDPOINT",
    "end_session": "OIDC_OP_LOGOUT_ENDPOINT",
}
# Endpoints field -> its key in the provider's openid-configuration document.
DISCOVERY_KEYS = {
    "authorization": "authorization_endpoint",
    "token": "token_endpoint",
    "userinfo": "userinfo_endpoint",
    "jwks": "jwks_uri",
    "end_session": "end_session_endpoint",
}
REQUIRED = ("authorization", "token", "userinfo", "jwks")
COGNITO_POOL_ID = re.compile(r"^(?P<region>[a-z]{2}(-[a-z]+)+-\d)_[0-9A-Za-z]+$")


@dataclass(frozen=True)
class Endpoints:
    issuer: str
    authorization: str
    token: str
    userinfo: str
    jwks: str
    end_session: str = ""
    # Cognito's /logout names the return address logout_uri; standard end-session uses this name.
    logout_redirect_param: str = "post_logout_redirect_uri"


def require(**values: str) -> None:
    """Every value named here must be set; one message lists all that are missing."""
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ImproperlyConfigured(f"OIDC_ENABLED=true needs {', '.join(missing)} (see docs/deploy.md)")


def cognito_endpoints(*, user_pool_id: str, region: str, domain: str) -> Endpoints:
    """The Cognito preset: the user pool and its hosted UI domain give every endpoint, no discovery needed."""
    match = COGNITO_POOL_ID.match(user_pool_id)
    if not match:
        raise ImproperlyConfigured(f"COGNITO_USER_POOL_ID must look like us-east-1_AbC123xyz, not {user_pool_id!r}")
    region = region or match["region"]
    if region != match["region"]:
        raise ImproperlyConfigured(f"COGNITO_REGION {region!r} does not match the user pool {user_pool_id!r}")
    require(COGNITO_DOMAIN=domain)
    host = urlsplit(domain).netloc if "://" in domain else domain.strip("/")
    if "." not in host:
        # Just the prefix of an Amazon Cognito domain, as the console shows it.
        host = f"{host}.auth.{region}.amazoncognito.com"
    issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
    return Endpoints(
        issuer=issuer,
        authorization=f"https://{host}/oauth2/authorize",
        token=f"https://{host}/oauth2/token",
        userinfo=f"https://{host}/oauth2/userInfo",
        jwks=f"{issuer}/.well-known/jwks.json",
        end_session=f"https://{host}/logout",
        logout_redirect_param="logout_uri",
    )


def discover(url: str, *, timeout: float) -> dict[str, str]:
    """Read the provider's openid-configuration document; any failure is a configuration error."""
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ImproperlyConfigured(f"OIDC discovery failed: could not read {url}: {error}") from None
    if not isinstance(document, dict) or not document.get("issuer"):
        raise ImproperlyConfigured(f"OIDC discovery failed: {url} is not an OpenID Connect configuration document")
    return document


def resolve_endpoints(
    *,
    discovery_url: str = "",
    issuer: str = "",
    cognito_user_pool_id: str = "",
    cognito_region: str = "",
    cognito_domain: str = "",
    explicit: dict[str, str] | None = None,
    timeout: float = 10,
    require_https: bool = False,
) -> Endpoints:
    """Merge, in rising precedence: Cognito preset or discovery, then explicitly set endpoints; then validate."""
    explicit = {field: value for field, value in (explicit or {}).items() if value}
    if cognito_user_pool_id and (discovery_url or issuer):
        raise ImproperlyConfigured("Set either COGNITO_USER_POOL_ID or OIDC_OP_DISCOVERY_URL/OIDC_OP_ISSUER, not both")
    values: dict[str, str] = {"issuer": issuer.rstrip("/")}
    if cognito_user_pool_id:
        preset = cognito_endpoints(user_pool_id=cognito_user_pool_id, region=cognito_region, domain=cognito_domain)
        values = {field.name: getattr(preset, field.name) for field in fields(Endpoints)}
    elif discovery_url or issuer:
        document = discover(discovery_url or issuer.rstrip("/") + WELL_KNOWN, timeout=timeout)
        if issuer and document["issuer"].rstrip("/") != issuer.rstrip("/"):
            raise ImproperlyConfigured(
                f"OIDC discovery failed: the provider says its issuer is {document['issuer']!r}, not {issuer!r}"
            )
        values["issuer"] = document["issuer"]
        values.update({field: document.get(key, "") for field, key in DISCOVERY_KEYS.items()})
    values.update(explicit)
    require(**{ENDPOINT_SETTINGS[field]: values.get(field, "") for field in REQUIRED})
    for field, setting in ENDPOINT_SETTINGS.items():
        _check_url(setting, values.get(field, ""), require_https=require_https)
    return Endpoints(**{field.name: values[field.name] for field in fields(Endpoints) if field.name in values})


def _check_url(setting: str, url: str, *, require_https: bool) -> None:
    if not url:
        return
    parts = urlsplit(url)
    allowed = {"https"} if require_https else {"https", "http"}
    if parts.scheme not in allowed or not parts.netloc:
        need = "an https:// URL" if require_https else "an http(s):// URL"
        raise ImproperlyConfigured(f"{setting} must be {need}, not {url!r}")
