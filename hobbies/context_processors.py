from django.conf import settings
from django.http import HttpRequest


def community(request: HttpRequest) -> dict[str, object]:
    return {
        "community_name": settings.COMMUNITY_NAME,
        # The sign-in page offers "Sign in with <label>" when set, and the password form when enabled.
        "oidc_provider_label": settings.OIDC_PROVIDER_LABEL if settings.OIDC_ENABLED else "",
        "local_login_enabled": settings.LOCAL_LOGIN_ENABLED,
    }
