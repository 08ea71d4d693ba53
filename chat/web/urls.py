"""The chat's HTTP routes, one URLconf for the app (URL names prefixed `chat-`)."""

from django.urls import path

from chat.web import (
    attachments,
    channels,
    conversation,
    dashboards,
    direct,
    messages,
    permalinks,
    reactions,
    reports,
    search,
)

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
    path("direct/new/", direct.new_message, name="chat-direct-new"),
    # The conversation page and its small HTTP companions
    path("channels/<int:channel_id>/messages/", conversation.conversation, name="chat-conversation"),
    path("channels/<int:channel_id>/messages/older/", conversation.older_messages, name="chat-older-messages"),
    path("channels/<int:channel_id>/messages/send/", conversation.send, name="chat-send"),
    path("channels/<int:channel_id>/slow-mode/", conversation.slow_mode, name="chat-slow-mode"),
    path("messages/<int:message_id>/report/", reports.report_message, name="chat-report"),
    path("messages/<int:message_id>/edit/", messages.edit, name="chat-message-edit"),
    path("messages/<int:message_id>/delete/", messages.delete, name="chat-message-delete"),
    path("messages/<int:message_id>/remove/", messages.remove, name="chat-message-remove"),
    # Permalinks and reactions (issue 17)
    path("channels/<int:channel_id>/messages/<int:message_id>/", permalinks.permalink, name="chat-permalink"),
    path("messages/<int:message_id>/reactions/", reactions.react, name="chat-react"),
    path("messages/<int:message_id>/reactions/clear/", reactions.clear, name="chat-clear-reactions"),
    path("search/", search.search, name="chat-search"),
    # Dashboards: the community's (administrators), a channel's (its moderators too)
    path("dashboard/", dashboards.community_dashboard, name="chat-dashboard"),
    path("channels/<int:channel_id>/dashboard/", dashboards.channel_dashboard, name="chat-channel-dashboard"),
    # Attachments
    path("attachments/start/", attachments.start_upload, name="chat-attachment-start"),
    path("attachments/<int:attachment_id>/", attachments.download, name="chat-attachment-download"),
    path("attachments/<int:attachment_id>/thumbnail/", attachments.thumbnail, name="chat-attachment-thumbnail"),
    path("attachments/<int:attachment_id>/upload/", attachments.upload, name="chat-attachment-upload"),
    path("attachments/<int:attachment_id>/complete/", attachments.complete, name="chat-attachment-complete"),
    path("attachments/<int:attachment_id>/cancel/", attachments.cancel, name="chat-attachment-cancel"),
]
