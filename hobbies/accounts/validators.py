"""The community's password rule: 8+ characters with an uppercase letter, a digit and a symbol."""

from django.core.exceptions import ValidationError

PASSWORD_RULE_TEXT = "Minimum 8 characters, at least 1 uppercase, 1 number, 1 special character"  # noqa: S105


class CommunityPasswordValidator:
    def __init__(self, min_length: int = 8) -> None:
        self.min_length = min_length

    def validate(self, password: str, user: object = None) -> None:
        errors = []
        if len(password) < self.min_length:
            errors.append(
                ValidationError(
                    f"The password must be at least {self.min_length} characters long.",
                    code="password_too_short",
                )
            )
        if not any(char.isupper() for char in password):
            errors.append(ValidationError("The password must contain an uppercase letter.", code="password_no_upper"))
        if not any(char.isdigit() for char in password):
            errors.append(ValidationError("The password must contain a number.", code="password_no_digit"))
        if all(char.isalnum() or char.isspace() for char in password):
            errors.append(
                ValidationError(
                    "The password must contain a special character, such as ! ? # or %.",
                    code="password_no_special",
                )
            )
        if errors:
            raise ValidationError(errors)

    def get_help_text(self) -> str:
        return PASSWORD_RULE_TEXT
