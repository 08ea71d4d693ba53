"""HTTP request counts and latency by view: a middleware at the top of the stack.

The view is the URL pattern's name (`chat-conversation`, `admin:index`...), never the path, so
the number of label values stays that of the routes; static files answered by WhiteNoise count
as `static`, anything that matched no route as `unmatched`.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

from hobbies import metrics

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def view_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or "unnamed"
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


class RequestMetricsMiddleware(MiddlewareMixin):
    def process_request(self, request: HttpRequest) -> None:
        request._metrics_started = time.perf_counter()

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        started = getattr(request, "_metrics_started", None)
        if started is not None:
            method = request.method if request.method in METHODS else "other"
            metrics.http_request(view_label(request), method, response.status_code, time.perf_counter() - started)
        return response
