from django import forms

from chat.models import ELASTIC_FIELDS, MAX_CHANNEL_NAME_LENGTH, Channel, ChannelType, Mode, Privacy

# Field help shown under the elastic settings (the limits are checked by the model's validators).
ELASTIC_HELP = {
    "maximum_subchannels": "At least 2.",
    "target_memberships_per_subchannel": "From 2 to 1000.",
    "minimum_membership_percentage": "From 1 to 40: a sub-channel below this share of the target is merged.",
}


class ChannelCreateForm(forms.ModelForm):
    """The Add channel form. Model validation (Channel.clean and its validators) checks every value."""

    moderator = forms.CharField(label="Moderator", required=False, disabled=True)

    class Meta:
        model = Channel
        fields = ["name", "moderator", "privacy", "mode", "channel_type", *ELASTIC_FIELDS]
        labels = {
            "name": "Channel name",
            "privacy": "Privacy (cannot be changed)",
            "mode": "Mode",
            "channel_type": "Channel Type",
            "maximum_subchannels": "Maximum sub-channels",
            "target_memberships_per_subchannel": "Target memberships per sub-channel",
            "minimum_membership_percentage": "Minimum membership % for scale-in",
        }
        help_texts = {"mode": "Applies to private standard channels; other channels are restricted.", **ELASTIC_HELP}
        widgets = {
            "privacy": forms.RadioSelect,
            "mode": forms.RadioSelect,
            "channel_type": forms.RadioSelect,
        }

    def __init__(self, *args, user, **kwargs) -> None:
        initial = {
            "moderator": user.username,
            "privacy": Privacy.PRIVATE,
            "mode": Mode.RESTRICTED,
            "channel_type": ChannelType.STANDARD,
            "maximum_subchannels": 2,
            "target_memberships_per_subchannel": 4,
            "minimum_membership_percentage": 40,
            **kwargs.pop("initial", {}),
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["moderator"].initial = user.username
        self.fields["name"].widget.attrs.update({"maxlength": MAX_CHANNEL_NAME_LENGTH, "autofocus": True})
        # An empty name is the model's one error ("Enter a channel name."), not the form's as well.
        self.fields["name"].required = False
        for name in ("privacy", "mode", "channel_type"):
            # A blank "---------" choice makes no sense as a radio button.
            self.fields[name].choices = [choice for choice in self.fields[name].choices if choice[0]]
        self.fields["privacy"].required = True
        self.fields["channel_type"].required = True
        self.fields["mode"].required = False

    def clean(self) -> dict:
        cleaned = super().clean()
        elastic = cleaned.get("channel_type") == ChannelType.ELASTIC
        if not elastic:
            # Without JavaScript the elastic fields are always posted; they only count for elastic channels.
            for field in ELASTIC_FIELDS:
                cleaned[field] = None
                self.errors.pop(field, None)
        if cleaned.get("privacy") != Privacy.PRIVATE or elastic or not cleaned.get("mode"):
            cleaned["mode"] = Mode.RESTRICTED
        return cleaned

    def service_arguments(self) -> dict:
        return {
            field: self.cleaned_data[field] for field in ["name", "privacy", "mode", "channel_type", *ELASTIC_FIELDS]
        }


class ChannelEditForm(forms.Form):
    name = forms.CharField(
        label="Channel name", max_length=MAX_CHANNEL_NAME_LENGTH, error_messages={"required": "Enter a channel name."}
    )
    # Shown only where mode can change; a posted change elsewhere is refused by the service.
    mode = forms.ChoiceField(label="Mode", choices=Mode.choices, widget=forms.RadioSelect, required=False)


class AddMemberForm(forms.Form):
    username = forms.CharField(
        label="User name",
        max_length=150,
        widget=forms.TextInput(
            attrs={"list": "member-suggestions", "autocomplete": "off", "autocapitalize": "none", "type": "search"}
        ),
    )


class UserChoiceForm(forms.Form):
    """A POSTed user id for remove, promote, demote, ban and unban."""

    user_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
