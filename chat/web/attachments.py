"""Attachment views: thin, each calls chat/services/attachments.py and answers JSON or a file.

Refusals (AttachmentError) answer 400 with {"error": message} for the message box to show;
anything the person may not see answers 404, whether it exists or not.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from chat.attachments import checks, naming, storage
from chat.attachments.errors import AttachmentError, AttachmentNotFound
from chat.models import Attachment, Channel
from chat.services import attachments

# Room for the multipart envelope around the file (boundaries, headers, the CSRF field).
MULTIPART_OVERHEAD = 64 * 1024
# Served files may never run as a page of this origin, whatever a browser makes of them.
DOWNLOAD_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _error(error: AttachmentError) -> JsonResponse:
    return JsonResponse({"error": error.message}, status=404 if isinstance(error, AttachmentNotFound) else 400)


def _upload_json(attachment: Attachment) -> dict:
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "size": attachment.size,
        "type": attachment.content_type,
        "state": attachment.state,
        "completeUrl": reverse("chat-attachment-complete", args=[attachment.pk]),
        "cancelUrl": reverse("chat-attachment-cancel", args=[attachment.pk]),
    }


@login_required
@require_POST
def start_upload(request: HttpRequest) -> JsonResponse:
    """JSON in: {"channel", "name", "size", "type"}; JSON out: the upload and how to send its bytes."""
    try:
        data = json.loads(request.body or b"{}")
        channel_id, size = int(data["channel"]), int(data["size"])
        name, content_type = str(data["name"]), str(data.get("type") or "")
    except (ValueError, TypeError, KeyError):
        return JsonResponse({"error": "That upload request is not valid."}, status=400)
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        return JsonResponse({"error": "Channel not found."}, status=404)
    try:
        attachment, instructions = attachments.start_upload(
            actor=request.user, channel=channel, name=name, size=size, content_type=content_type
        )
    except AttachmentError as error:
        return _error(error)
    return JsonResponse({**_upload_json(attachment), "upload": instructions.as_json()}, status=201)


class CappedUploadHandler(TemporaryFileUploadHandler):
    """Spools the upload to disk and stops reading once it passes the size limit."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return super().receive_data_chunk(raw_data, start)


@csrf_exempt  # only so the upload handler is set before anything parses the body; checked below
@require_POST
def upload(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """Local backend: the multipart POST of one file (field "file") for a started upload."""
    limit = settings.ATTACHMENTS_MAX_BYTES
    try:
        declared_length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return JsonResponse({"error": "That upload request is not valid."}, status=400)
    if declared_length > limit + MULTIPART_OVERHEAD:
        return JsonResponse({"error": f"Files can be at most {checks.human_size(limit)}."}, status=413)
    handler = CappedUploadHandler(request, limit)
    request.upload_handlers = [handler]
    return _upload(request, attachment_id, handler)


@csrf_protect
@login_required
def _upload(request: HttpRequest, attachment_id: int, handler: CappedUploadHandler) -> HttpResponse:
    file = request.FILES.get(storage.UPLOAD_FIELD)
    try:
        if handler.exceeded:
            attachments.cancel_upload(actor=request.user, attachment_id=attachment_id)
            limit = checks.human_size(settings.ATTACHMENTS_MAX_BYTES)
            raise AttachmentError(f"Files can be at most {limit}; the upload was stopped.")
        attachment = attachments.store_local_upload(actor=request.user, attachment_id=attachment_id, file=file)
    except AttachmentError as error:
        return _error(error)
    finally:
        if file is not None:
            file.close()
    return JsonResponse(_upload_json(attachment))


@login_required
@require_POST
def complete(request: HttpRequest, attachment_id: int) -> JsonResponse:
    try:
        attachment = attachments.complete_upload(actor=request.user, attachment_id=attachment_id)
    except AttachmentError as error:
        return _error(error)
    return JsonResponse(_upload_json(attachment))


@login_required
@require_POST
def cancel(request: HttpRequest, attachment_id: int) -> JsonResponse:
    try:
        attachments.cancel_upload(actor=request.user, attachment_id=attachment_id)
    except AttachmentError as error:
        return _error(error)
    return JsonResponse({"id": attachment_id, "state": "cancelled"})


def _serve(request: HttpRequest, attachment: Attachment, *, thumbnail: bool) -> HttpResponse:
    if storage.uses_s3():
        response: HttpResponse = HttpResponseRedirect(storage.presigned_download_url(attachment, thumbnail=thumbnail))
    else:
        key = attachment.thumbnail_key if thumbnail else attachment.key
        content_type = naming.thumbnail_type(key) if thumbnail else attachment.content_type
        try:
            file = storage.open_stored(key)
        except FileNotFoundError:
            raise AttachmentNotFound() from None
        response = FileResponse(
            file,
            as_attachment=not checks.is_inline(content_type),
            filename=attachment.name,
            content_type=content_type,
        )
        response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"  # access can end (leave, ban, redaction)
    return response


@never_cache
@login_required
@require_GET
def download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment = attachments.readable_attachment(actor=request.user, attachment_id=attachment_id)
    return _serve(request, attachment, thumbnail=False)


@never_cache
@login_required
@require_GET
def thumbnail(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment = attachments.readable_attachment(actor=request.user, attachment_id=attachment_id)
    if not attachment.thumbnail_key:
        raise AttachmentNotFound()
    return _serve(request, attachment, thumbnail=True)
