"""The chat's HTTP routes, one URLconf for the app (URL names prefixed `chat-`)."""

from django.urls import path

from chat.web import attachments, channels, conversation

urlpatterns = [
    path("channels/", channels.channels, name="chat-channels"),
    path("channels/new/", channels.channel_create, name="chat-create"),
    path("channels/<int:channel_id>/", channels.channel_detail, name="chat-channel"),
    path("channels/<int:channel_id>/edit/", channels.channel_edit, name="chat-edit"),
    path("channels/<int:channel_id>/delete/", channels.channel_delete, name="chat-delete"),
    path("channels/<int:channel_id>/join/", channels.channel_join, name="chat-join"),
    path("channels/<int:channel_id>/leave/", channels.channel_leave, name="chat-leave"),
    path("channels/<int:channel_id>/members/add/", channels.member_add, name="chat-add-member"),
    path("channels/<int:channel_id>/members/search/", channels.member_search, name="chat-member-search"),
    path("channels/<int:channel_id>/members/<int:user_id>/remove/", channels.member_remove, name="chat-remove-member"),
    path("channels/<int:channel_id>/members/<int:user_id>/promote/", channels.member_promote, name="chat-promote"),
    path("channels/<int:channel_id>/members/<int:user_id>/demote/", channels.member_demote, name="chat-demote"),
    path("channels/<int:channel_id>/bans/<int:user_id>/add/", channels.user_ban, name="chat-ban"),
    path("channels/<int:channel_id>/bans/<int:user_id>/remove/", channels.user_unban, name="chat-unban"),
    path(
        "channels/<int:channel_id>/subchannels/<int:subchannel_id>/join/",
        channels.subchannel_join,
        name="chat-join-subchannel",
    ),
    path("direct/<int:user_id>/", channels.direct_open, name="chat-direct"),
    # The conversation page and its small HTTP companions
    path("channels/<int:channel_id>/messages/", conversation.conversation, name="chat-conversation"),
    path("channels/<int:channel_id>/messages/older/", conversation.older_messages, name="chat-older-messages"),
    path("channels/<int:channel_id>/messages/send/", conversation.send, name="chat-send"),
    path("channels/<int:channel_id>/slow-mode/", conversation.slow_mode, name="chat-slow-mode"),
    # Attachments
    path("attachments/start/", attachments.start_upload, name="chat-attachment-start"),
    path("attachments/<int:attachment_id>/", attachments.download, name="chat-attachment-download"),
    path("attachments/<int:attachment_id>/thumbnail/", attachments.thumbnail, name="chat-attachment-thumbnail"),
    path("attachments/<int:attachment_id>/upload/", attachments.upload, name="chat-attachment-upload"),
    path("attachments/<int:attachment_id>/complete/", attachments.complete, name="chat-attachment-complete"),
    path("attachments/<int:attachment_id>/cancel/", attachments.cancel, name="chat-attachment-cancel"),
]
