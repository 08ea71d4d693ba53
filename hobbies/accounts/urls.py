from django.conf import settings
from django.urls import include, path

from hobbies.accounts import views

urlpatterns = [
    path("", views.signin, name="accounts-signin"),
    path("signout/", views.signout, name="accounts-signout"),
    path("account/settings/", views.account_settings, name="accounts-settings"),
]

if settings.OIDC_ENABLED:
    # /oidc/authenticate/ starts a sign-in at the provider, /oidc/callback/ finishes it.
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
