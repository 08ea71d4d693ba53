from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hobbies.accounts import oidc, services
from hobbies.accounts.forms import NotificationSettingsForm, RegisterForm, SignInForm
from hobbies.accounts.models import Approval

REGISTERED_MESSAGE = (
    "Your registration information has been sent to your administrator. Contact them for additional instructions."
)
FOUNDER_MESSAGE = "Welcome! As the first member of this community you are its administrator."
ACTIVATED_MESSAGE = "Your account is activated! Please sign in again to confirm."
LOCAL_LOGIN_OFF_MESSAGE = "Signing in or registering with a password is turned off here."


def signin(request: HttpRequest) -> HttpResponse:
    """The one Sign in or Register page: which button was pressed decides what the form does."""
    if request.user.is_authenticated:
        return redirect("chat-channels")
    if request.method != "POST":
        return render(request, "accounts/signin.html", {"form": RegisterForm()})
    if not settings.LOCAL_LOGIN_ENABLED:
        messages.error(request, LOCAL_LOGIN_OFF_MESSAGE)
        return render(request, "accounts/signin.html", {"form": RegisterForm()}, status=403)
    if request.POST.get("action") == "register":
        return _register(request)
    return _sign_in(request)


def _register(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST)
    if form.is_valid():
        try:
            registration = services.register_user(**form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if registration.is_founder:
                login(request, registration.user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, FOUNDER_MESSAGE)
                return redirect("chat-channels")
            messages.success(request, REGISTERED_MESSAGE)
            return redirect("accounts-signin")
    return render(request, "accounts/signin.html", {"form": form, "mode": "register"}, status=400)


def _sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST, request=request)
    if not form.is_valid():
        return render(request, "accounts/signin.html", {"form": form}, status=400)
    user = form.user
    if user.approval == Approval.ACTIVATED:
        # The seed's two-step confirmation: the first sign-in after approval only confirms the account.
        services.confirm_activation(user=user)
        messages.success(request, ACTIVATED_MESSAGE)
        return redirect("accounts-signin")
    login(request, user)
    return redirect(request.GET.get("next") if _is_local(request.GET.get("next")) else "chat-channels")


def _is_local(url: str | None) -> bool:
    return bool(url) and url.startswith("/") and not url.startswith("//") and "\\" not in url


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    # An OIDC session also ends at the provider, which then sends the browser back to sign-in.
    provider_logout = oidc.logout_url(request)
    logout(request)
    return redirect(provider_logout or "accounts-signin")


@login_required
def account_settings(request: HttpRequest) -> HttpResponse:
    """The person's own settings: browser notifications and their sound (static/js/notify.js)."""
    profile = services.ensure_profile(request.user)
    initial = {"notify_desktop": profile.notify_desktop, "notify_sound": profile.notify_sound}
    # Both boxes unticked post nothing at all: bound on POST whatever it carries.
    form = NotificationSettingsForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.update_notification_settings(actor=request.user, user=request.user, **form.cleaned_data)
        messages.success(request, "Settings saved.")
        return redirect("accounts-settings")
    return render(request, "accounts/settings.html", {"form": form}, status=400 if request.method == "POST" else 200)
