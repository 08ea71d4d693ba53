"""The moderation site's URLconf, included by hobbies/urls.py as "moderation/" (namespace "moderation")."""

from chat.admin.sites import moderation_site

app_name = "admin"  # the admin's application namespace, as AdminSite.urls gives it
urlpatterns = moderation_site.get_urls()
