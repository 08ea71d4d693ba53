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
<script>
  window.box = Attachments.init({
    form: document.getElementById("box"),
    input: document.getElementById("files"),
    listEl: document.getElementById("uploads"),
    channelId: %(channel)d,
    csrfToken: "%(csrf)s",
    startUrl: "/attachments/start/",
  });
</script>
</body></html>"""


@login_required
def message_box(request: HttpRequest) -> HttpResponse:
    return HttpResponse(BOX % {"channel": int(request.GET["channel"]), "csrf": get_token(request)})


urlpatterns = [
    path("test/attachments-box/", message_box),
    *project_urlpatterns,
]
