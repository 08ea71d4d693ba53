from django.urls import path

from chat import message_views

urlpatterns = [
    path("channels/<int:channel_id>/messages/", message_views.conversation, name="chat-conversation"),
    path("channels/<int:channel_id>/messages/older/", message_views.older_messages, name="chat-older-messages"),
    path("channels/<int:channel_id>/messages/send/", message_views.send, name="chat-send"),
    path("channels/<int:channel_id>/slow-mode/", message_views.slow_mode, name="chat-slow-mode"),
]
