from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Hobbies Community administration"

urlpatterns = [
    path("", include("hobbies.accounts.urls")),
    path("", include("chat.web.urls")),
    path("admin/", admin.site.urls),
]
