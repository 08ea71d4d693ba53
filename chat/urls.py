from django.urls import path

from chat import views

urlpatterns = [
    path("channels/", views.channels, name="chat-channels"),
]
