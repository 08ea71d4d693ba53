"""The baseline for bench/fanout.py: a bare Channels broadcast app, no database, no auth.

Every socket joins one group; a `message.send` frame is broadcast to the group as
`message.created`, encoded once, and acknowledged. It is the floor our consumer is measured
against: the cost of daphne + Channels + the channel layer alone.
"""

import json
import os

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        SECRET_KEY="baseline",  # noqa: S106
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [os.environ["REDIS_URL"]]},
            }
            if os.environ.get("REDIS_URL")
            else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
        },
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

GROUP = "baseline"


class BroadcastConsumer(AsyncWebsocketConsumer):
    seq = 0

    async def connect(self):
        await self.accept()
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.send(text_data=json.dumps({"type": "hello", "streams": {"1": 0}}))

    async def disconnect(self, code):
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        frame = json.loads(text_data)
        if frame.get("type") != "message.send":
            return
        BroadcastConsumer.seq += 1
        message = {"id": BroadcastConsumer.seq, "seq": BroadcastConsumer.seq, "client_msg_id": frame["client_msg_id"]}
        created = {"type": "message.created", "stream": "1", "seq": message["seq"], "message": message}
        await self.channel_layer.group_send(GROUP, {"type": "broadcast", "text": json.dumps(created)})
        await self.send(text_data=json.dumps({"type": "ack", "client_msg_id": frame["client_msg_id"]}))

    async def broadcast(self, event):
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter({"websocket": URLRouter([path("ws/", BroadcastConsumer.as_asgi())])})
