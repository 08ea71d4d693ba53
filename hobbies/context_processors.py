from django.conf import settings
from django.http import HttpRequest


def community(request: HttpRequest) -> dict[str, str]:
    return {"community_name": settings.COMMUNITY_NAME}
