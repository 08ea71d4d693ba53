"""/metrics: the Prometheus text, for a scraper holding METRICS_TOKEN or calling from METRICS_ALLOWED_IPS.

Without either setting nobody may read it. The token is compared in constant time; an address is
the client's as daphne sees it (REMOTE_ADDR, rewritten from X-Forwarded-For only with daphne's
--proxy-headers behind a trusted proxy), so behind a proxy prefer the token.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from hobbies import metrics
from hobbies.metrics import prometheus


def _token_ok(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _address_ok(request: HttpRequest) -> bool:
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in network for network in settings.METRICS_ALLOWED_NETWORKS)


def allowed(request: HttpRequest) -> bool:
    return _token_ok(request) or _address_ok(request)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        response = HttpResponse("Metrics need a bearer token or an allowed address.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    return HttpResponse(metrics.exposition(), content_type=prometheus.CONTENT_TYPE)
