from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "hobbies.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from hobbies.accounts import signals  # noqa: F401  (connects the post-authentication hook)
