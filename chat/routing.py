"""WebSocket routes; the consumer arrives with the real-time messaging work."""

websocket_urlpatterns: list = []
