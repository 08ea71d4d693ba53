import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from hobbies.accounts.validators import CommunityPasswordValidator


@pytest.mark.parametrize(
    ("password", "codes"),
    [
        ("Ab1!", {"password_too_short"}),
        ("abcdefg1!", {"password_no_upper"}),
        ("Abcdefgh!", {"password_no_digit"}),
        ("Abcdefgh1", {"password_no_special"}),
        ("Abcd efg1", {"password_no_special"}),
        ("abc", {"password_too_short", "password_no_upper", "password_no_digit", "password_no_special"}),
    ],
)
def test_each_broken_rule_has_its_own_error(password, codes):
    with pytest.raises(ValidationError) as raised:
        CommunityPasswordValidator().validate(password)
    assert {error.code for error in raised.value.error_list} == codes


@pytest.mark.parametrize("password", ["Hobby#Pass1", "Ünïcode-Pässw0rd", "A1!aaaaa"])
def test_passwords_meeting_every_rule_pass(password):
    CommunityPasswordValidator().validate(password)


def test_help_text_is_the_rule_users_know():
    assert CommunityPasswordValidator().get_help_text() == (
        "Minimum 8 characters, at least 1 uppercase, 1 number, 1 special character"
    )


def test_validator_is_installed_beside_djangos_own():
    with pytest.raises(ValidationError) as raised:
        validate_password("password")
    codes = {error.code for error in raised.value.error_list}
    assert {"password_no_upper", "password_too_common"} <= codes
