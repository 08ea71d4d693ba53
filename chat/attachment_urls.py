"""Attachment URLs; included from the project's URLconf: path("", include("chat.attachment_urls"))."""

from django.urls import path

from chat import attachment_views as views

urlpatterns = [
    path("attachments/start/", views.start_upload, name="chat-attachment-start"),
    path("attachments/<int:attachment_id>/", views.download, name="chat-attachment-download"),
    path("attachments/<int:attachment_id>/thumbnail/", views.thumbnail, name="chat-attachment-thumbnail"),
    path("attachments/<int:attachment_id>/upload/", views.upload, name="chat-attachment-upload"),
    path("attachments/<int:attachment_id>/complete/", views.complete, name="chat-attachment-complete"),
    path("attachments/<int:attachment_id>/cancel/", views.cancel, name="chat-attachment-cancel"),
]
