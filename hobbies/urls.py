from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from hobbies.metrics.views import metrics_view

admin.site.site_header = "Hobbies Community administration"

urlpatterns = [
    path("", include("hobbies.accounts.urls")),
    path("", include("chat.web.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages without an icon link (the Django admin's).
    # Lazy: in production the static URL comes from collectstatic's manifest, read at the first request.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("img/logo.svg"), permanent=True)),
    # Channel moderators who are not staff (chat/admin/sites.py).
    path("moderation/", include("chat.admin.urls", namespace="moderation")),
    # Prometheus, for a scraper with METRICS_TOKEN or from METRICS_ALLOWED_IPS (hobbies/metrics/views.py).
    path("metrics", metrics_view, name="metrics"),
]
