"""django-axes glue: lockouts count per user name, case-insensitively, and show the sign-in page."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

LOCKOUT_MESSAGE = (
    "Too many failed sign-in attempts for this user name. Try again in {minutes} minutes, "
    "or ask an administrator to unlock the account."
)


def username_from_request(request: HttpRequest, credentials: dict | None) -> str | None:
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    # None, not "", when there is no user name (an OIDC callback): axes then records no attempt,
    # so failed OIDC callbacks can never add up to a lockout of the empty name shared by everyone.
    return raw.strip().lower() or None


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    from hobbies.accounts.forms import SignInForm

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    form = SignInForm(request=request, initial={"username": username_from_request(request, credentials)})
    context = {"form": form, "lockout_message": LOCKOUT_MESSAGE.format(minutes=minutes)}
    return render(request, "accounts/signin.html", context, status=429)
