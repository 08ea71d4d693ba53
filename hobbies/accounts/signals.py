from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from hobbies.accounts import services


@receiver(user_logged_in, dispatch_uid="hobbies.accounts.post_authentication")
def run_post_authentication_hook(sender, request, user, **kwargs) -> None:
    services.after_sign_in(user=user, request=request, method=services.sign_in_method(user))
