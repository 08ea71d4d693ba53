"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hobbies.settings")

# Django must be set up before anything imports models (the routing below does).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402

from chat.realtime.routing import websocket_urlpatterns  # noqa: E402
from chat.realtime.sessions import SocketSignInMiddleware  # noqa: E402
from chat.realtime.socket_db import SocketDatabaseMiddleware  # noqa: E402
from hobbies.accounts.ws import OidcSessionExpiryMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Channels' AuthMiddlewareStack with the sign-in that also reads, in the same database
        # call, what the expiry check inside it and the consumer's connect need (chat/realtime/sessions.py).
        "websocket": SocketDatabaseMiddleware(
            AllowedHostsOriginValidator(
                SessionMiddlewareStack(
                    SocketSignInMiddleware(OidcSessionExpiryMiddleware(URLRouter(websocket_urlpatterns)))
                )
            )
        ),
    }
)
