"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hobbies.settings")

# Django must be set up before anything imports models (the routing below does).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from chat.realtime.routing import websocket_urlpatterns  # noqa: E402
from chat.realtime.socket_db import SocketDatabaseMiddleware  # noqa: E402
from hobbies.accounts.ws import OidcSessionExpiryMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The expiry check sits inside the auth stack: it reads the session that stack loads.
        "websocket": SocketDatabaseMiddleware(
            AllowedHostsOriginValidator(
                AuthMiddlewareStack(OidcSessionExpiryMiddleware(URLRouter(websocket_urlpatterns)))
            )
        ),
    }
)
