from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from hobbies.accounts import services
from hobbies.accounts.models import Approval, User
from hobbies.accounts.validators import PASSWORD_RULE_TEXT

INVALID_CREDENTIALS = "Incorrect user name or password."
PENDING_MESSAGE = "Your registration is waiting for an administrator's approval. Contact them for more information."
REJECTED_MESSAGE = "Your registration was not approved. Contact your administrator."


class SignInForm(forms.Form):
    username = forms.CharField(
        label="User name",
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        help_text=PASSWORD_RULE_TEXT,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    # Not used to sign in: the page has one form for both buttons, and a failed sign-in shows it
    # again with what was typed, e-mail included.
    email = forms.CharField(
        label="Email (optional, for registration)",
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, request: HttpRequest | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.user: User | None = None

    def clean(self) -> dict:
        cleaned = super().clean()
        username, password = cleaned.get("username"), cleaned.get("password")
        if not username or not password:
            return cleaned
        user = authenticate(self.request, username=username, password=password)
        if user is None:
            raise ValidationError(self._refusal(username, password))
        self.user = user
        return cleaned

    @staticmethod
    def _refusal(username: str, password: str) -> str:
        # Only someone who knows the password learns that an account is pending or rejected.
        inactive = User.objects.by_username(username).filter(is_active=False).first()
        if inactive is not None and inactive.check_password(password):
            return REJECTED_MESSAGE if inactive.approval == Approval.REJECTED else PENDING_MESSAGE
        return INVALID_CREDENTIALS


class RegisterForm(forms.Form):
    username = SignInForm.base_fields["username"]
    password = SignInForm.base_fields["password"]
    email = forms.EmailField(
        label="Email (optional, for registration)",
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("username") and cleaned.get("password"):
            try:
                services.check_registration(
                    username=cleaned["username"], password=cleaned["password"], email=cleaned.get("email", "")
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


class NotificationSettingsForm(forms.Form):
    """A person's own choices (hobbies.accounts.services.update_notification_settings)."""

    notify_desktop = forms.BooleanField(
        label="Show a browser notification for mentions and direct messages while the tab is hidden",
        required=False,
    )
    notify_sound = forms.BooleanField(label="Play a sound with it", required=False)
