"""Form pieces of the chat admin: people by user name, channels limited to the person's own,
and the ban form (reason, optional end) shared by the Bans page and the ban actions."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from chat.services.memberships import MAX_BAN_REASON


class UsernameField(forms.CharField):
    """A person typed by user name (case-insensitive), so no page lists every account."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("label", "User name")
        kwargs.setdefault("max_length", 150)
        super().__init__(**kwargs)

    def clean(self, value):
        name = super().clean(value)
        if not name:
            return None
        user = get_user_model().objects.by_username(name.strip()).first()
        if user is None:
            raise forms.ValidationError(f"No account is called “{name}”.")
        return user


class LocalDateTimeInput(forms.DateTimeInput):
    """The browser's own date and time picker; no script."""

    input_type = "datetime-local"

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def ends_field() -> forms.DateTimeField:
    return forms.DateTimeField(
        label="Ends",
        required=False,
        widget=LocalDateTimeInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text=f"Optional, in {timezone.get_current_timezone_name()}. Empty: until a moderator lifts it.",
    )


class BanForm(forms.Form):
    """The ban actions' intermediate page: why, and until when."""

    reason = forms.CharField(label="Reason", max_length=MAX_BAN_REASON, widget=forms.Textarea(attrs={"rows": 2}))
    expires_at = ends_field()
