from django.urls import include, path

from chat import views

urlpatterns = [
    path("channels/", views.channels, name="chat-channels"),
    path("channels/new/", views.channel_create, name="chat-create"),
    path("channels/<int:channel_id>/", views.channel_detail, name="chat-channel"),
    path("channels/<int:channel_id>/edit/", views.channel_edit, name="chat-edit"),
    path("channels/<int:channel_id>/delete/", views.channel_delete, name="chat-delete"),
    path("channels/<int:channel_id>/join/", views.channel_join, name="chat-join"),
    path("channels/<int:channel_id>/leave/", views.channel_leave, name="chat-leave"),
    path("channels/<int:channel_id>/members/add/", views.member_add, name="chat-add-member"),
    path("channels/<int:channel_id>/members/search/", views.member_search, name="chat-member-search"),
    path("channels/<int:channel_id>/members/<int:user_id>/remove/", views.member_remove, name="chat-remove-member"),
    path("channels/<int:channel_id>/members/<int:user_id>/promote/", views.member_promote, name="chat-promote"),
    path("channels/<int:channel_id>/members/<int:user_id>/demote/", views.member_demote, name="chat-demote"),
    path("channels/<int:channel_id>/bans/<int:user_id>/add/", views.user_ban, name="chat-ban"),
    path("channels/<int:channel_id>/bans/<int:user_id>/remove/", views.user_unban, name="chat-unban"),
    path(
        "channels/<int:channel_id>/subchannels/<int:subchannel_id>/join/",
        views.subchannel_join,
        name="chat-join-subchannel",
    ),
    path("direct/<int:user_id>/", views.direct_open, name="chat-direct"),
    path("", include("chat.message_urls")),
    path("", include("chat.attachment_urls")),
]
