"""Test URLs: the project's, plus a bare message box for the browser test of
static/js/attachments.js (the chat page is not needed)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import path

from hobbies.urls import urlpatterns as project_urlpatterns

BOX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Attachments</title>
<link rel="stylesheet" href="/static/css/attachments.css"></head>
<body>
<form id="box">
  <label class="attach-button">📎<input type="file" id="files" multiple hidden></label>
  <ul id="uploads" class="upload-list"></ul>
</form>
<div id="rendered"></div>
<script src="/static/js/attachments.js"></script>
<script src="/test/attachments-box.js?channel=%(channel)d"></script>
</body></html>"""
# A script of its own, not an inline one: the page lives under the app's Content-Security-Policy.
BOX_SCRIPT = """window.box = Attachments.init({
  form: document.getElementById("box"),
  input: document.getElementById("files"),
  listEl: document.getElementById("uploads"),
  channelId: %(channel)d,
  csrfToken: "%(csrf)s",
  startUrl: "/attachments/start/",
});
"""


@login_required
def message_box(request: HttpRequest) -> HttpResponse:
    return HttpResponse(BOX % {"channel": int(request.GET["channel"])})


@login_required
def message_box_script(request: HttpRequest) -> HttpResponse:
    context = {"channel": int(request.GET["channel"]), "csrf": get_token(request)}
    return HttpResponse(BOX_SCRIPT % context, content_type="text/javascript")


urlpatterns = [
    path("test/attachments-box/", message_box),
    path("test/attachments-box.js", message_box_script),
    *project_urlpatterns,
]
