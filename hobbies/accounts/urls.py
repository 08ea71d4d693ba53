from django.urls import path

from hobbies.accounts import views

urlpatterns = [
    path("", views.signin, name="accounts-signin"),
    path("signout/", views.signout, name="accounts-signout"),
]
