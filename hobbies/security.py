"""Security headers on every response (a middleware in settings.MIDDLEWARE).

- Content-Security-Policy: scripts, styles, images and connections from this origin only (no
  inline script or style anywhere: the templates pass data in data-* attributes), plus what the
  configuration makes the browser talk to: the S3 bucket attachments are uploaded to and shown
  from, and the OpenID Connect provider a sign-out form is redirected to. A response that sets
  its own policy keeps it (attachment downloads have a sandboxing one).
- Permissions-Policy: the powerful browser features this app never uses are off.
- Cache-Control: private, no-store on every response to a signed-in person, so neither a shared
  cache nor the browser's back button keeps one person's pages.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.deprecation import MiddlewareMixin

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)


def origin(url: str | None) -> str | None:
    """scheme://host[:port] of an absolute http(s) URL; None for anything else."""
    parts = urlsplit(url or "")
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def attachment_origins() -> list[str]:
    """Where browsers send attachments (a pre-signed POST) and fetch them (pre-signed GETs): the
    bucket of STORAGES["attachments"] when it is S3 (settings.py builds it from the AWS_* settings)."""
    config = settings.STORAGES.get("attachments", {})
    if not config.get("BACKEND", "").startswith("storages.backends.s3"):
        return []
    options = config.get("OPTIONS", {})
    bucket, style = options.get("bucket_name", ""), options.get("addressing_style")
    if endpoint := options.get("endpoint_url"):
        parts = urlsplit(endpoint)
        path_style = [origin(endpoint)]
        virtual = [f"{parts.scheme}://{bucket}.{parts.netloc}"]
    else:
        region = options.get("region_name") or "us-east-1"
        path_style = [f"https://s3.{region}.amazonaws.com", "https://s3.amazonaws.com"]
        virtual = [f"https://{bucket}.s3.{region}.amazonaws.com", f"https://{bucket}.s3.amazonaws.com"]
    chosen = {"path": path_style, "virtual": virtual}.get(style or "", path_style + virtual)
    return [value for value in chosen if value]


def sign_in_origins() -> list[str]:
    """The OpenID Connect provider: signing out posts a form that is redirected there."""
    if not getattr(settings, "OIDC_ENABLED", False):
        return []
    endpoints = (settings.OIDC_OP_AUTHORIZATION_ENDPOINT, getattr(settings, "OIDC_OP_LOGOUT_ENDPOINT", None))
    return [value for value in map(origin, endpoints) if value]


def unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def content_security_policy() -> str:
    attachments = attachment_origins()
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", *attachments],
        # 'self' covers this origin's WebSocket (ws: or wss:) too.
        "connect-src": ["'self'", *attachments],
        "form-action": unique(["'self'", *attachments, *sign_in_origins()]),
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(unique(sources))}" for name, sources in directives.items())


class SecurityHeadersMiddleware(MiddlewareMixin):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        # Django's DEBUG error pages inline their styles and scripts; they never exist in production.
        if not (settings.DEBUG and response.status_code >= 400):
            # Built per response (microseconds), so it always follows the settings, in tests too.
            response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)  # absent when a static file was answered first
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response
