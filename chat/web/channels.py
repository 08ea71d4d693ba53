"""Channel pages. Each view fetches through the access helper (404 for missing or invisible),
validates a form, calls one service, and redirects with a message or re-renders with errors."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from chat import policy
from chat.exceptions import ChatError, NotAllowed
from chat.models import Channel, Membership, ModeratorSeat
from chat.services import channels as channel_services
from chat.services import elastic as elastic_services
from chat.services import memberships as membership_services
from chat.services.access import get_channel_access
from chat.web.forms import AddMemberForm, ChannelCreateForm, ChannelEditForm
from chat.web.sidebar import sidebar_of

User = get_user_model()

MEMBERS_PER_PAGE = 50
JOINABLE_LIMIT = 100
SEARCH_LIMIT = 10


@login_required
@require_GET
def channels(request: HttpRequest) -> HttpResponse:
    user = request.user
    memberships = list(
        Membership.objects.filter(user=user, channel__is_direct=False)
        .select_related("channel")
        .order_by("channel__name")
    )
    direct_channels = (
        Channel.objects.direct()
        .joined_by(user)
        .prefetch_related(Prefetch("memberships", queryset=Membership.objects.select_related("user")))
        .order_by("-created_at")
    )
    unread = sidebar_of(request).unread_by_channel()  # the sidebar's counts: read once per page
    direct = [(channel, _other_party(channel, user)) for channel in direct_channels]
    for channel in [membership.channel for membership in memberships] + [channel for channel, _ in direct]:
        channel.unread_stream, channel.unread = unread.get(channel.pk, ("", 0))
    context = {
        "memberships": memberships,
        "moderated": [membership.channel for membership in memberships if membership.is_moderator],
        "joinable": Channel.objects.joinable_by(user).order_by("name")[:JOINABLE_LIMIT],
        "direct": direct,
        "can_create": policy.can_create_channel(user),
    }
    return render(request, "chat/channels.html", context)


def _other_party(channel: Channel, user):
    others = [membership.user for membership in channel.memberships.all() if membership.user_id != user.pk]
    return others[0] if others else user


@login_required
def channel_create(request: HttpRequest) -> HttpResponse:
    if not policy.can_create_channel(request.user):
        raise NotAllowed("Only active members create channels.")
    form = ChannelCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            channel = channel_services.create_channel(actor=request.user, **form.service_arguments())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Channel “{channel.name}” created. You are its moderator.")
            return redirect("chat-channel", channel_id=channel.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "chat/channel_form.html", {"form": form}, status=status)


@login_required
@require_GET
def channel_detail(request: HttpRequest, channel_id: int) -> HttpResponse:
    return _render_detail(request, get_channel_access(request.user, channel_id))


def _render_detail(
    request: HttpRequest,
    access: policy.ChannelAccess,
    *,
    edit_form: ChannelEditForm | None = None,
    add_form: AddMemberForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The details page; its number of queries does not grow with channels, members or bans."""
    channel = access.channel
    members = channel.memberships.members_only().select_related("user", "subchannel").order_by("user__username")
    page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    moderators = list(channel.memberships.moderators().select_related("user").order_by("user__username"))
    context = {
        "channel": channel,
        "access": access,
        "moderators": [_member_row(access, membership, len(moderators)) for membership in moderators],
        "page": page,
        "members": [_member_row(access, membership, len(moderators)) for membership in page.object_list],
        "allowed": {
            "edit": policy.can_edit(access),
            "change_mode": policy.can_change_mode(access),
            "delete": policy.can_delete(access),
            "dashboard": policy.can_see_channel_dashboard(access),
            "join": not access.is_member and policy.can_join(access),
            "leave": policy.can_leave(access),
            "add_members": policy.can_add_members(access),
            "unban": policy.can_unban(access),
        },
        "edit_form": edit_form or ChannelEditForm(initial={"name": channel.name, "mode": channel.mode}),
        "add_form": add_form or AddMemberForm(),
    }
    if policy.can_see_bans(access):
        context["bans"] = list(channel.bans.active().select_related("user").order_by("user__username"))
    if policy.can_list_subchannels(access):
        context["subchannels"] = list(
            channel.subchannels.select_related("merged_into")
            .annotate(
                i_sit_here=Exists(
                    ModeratorSeat.objects.filter(subchannel=OuterRef("pk"), membership__user=request.user)
                )
            )
            .order_by("number")
        )
        context["can_join_subchannel"] = policy.can_join_subchannel(access)
    return render(request, "chat/channel_detail.html", context, status=status)


def _member_row(access: policy.ChannelAccess, membership: Membership, moderator_count: int) -> dict:
    return {
        "membership": membership,
        "user": membership.user,
        "can_remove": policy.can_remove_member(access, membership),
        "can_promote": policy.can_promote(access, membership),
        "can_demote": policy.can_demote(access, membership, moderator_count=moderator_count),
        "can_ban": policy.can_ban(access, membership.user, target_is_moderator=membership.is_moderator),
        "can_message": policy.can_message_user(access.user, membership.user),
    }


def _perform(request: HttpRequest, action: Callable[[], object], success: str, *, then: str) -> HttpResponse:
    """Run one service call: a permission refusal is a 403 page, any other refusal a message."""
    try:
        action()
    except NotAllowed as error:
        return _refused(request, str(error))
    except ChatError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)
    return redirect(then)


def _back_to(channel: Channel) -> str:
    return reverse("chat-channel", kwargs={"channel_id": channel.pk})


@login_required
@require_POST
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    access = get_channel_access(request.user, channel_id)
    if not policy.can_edit(access):
        return _refused(request, "Only moderators and administrators edit a channel.")
    form = ChannelEditForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, access, edit_form=form, status=400)
    channel = access.channel
    try:
        channel_services.update_channel(
            actor=request.user, channel=channel, name=form.cleaned_data["name"], mode=form.cleaned_data["mode"] or None
        )
    except NotAllowed as error:
        return _refused(request, str(error))
    except ValidationError as error:
        form.add_error(None, error)
        return _render_detail(request, access, edit_form=form, status=400)
    messages.success(request, "Channel updated.")
    return redirect("chat-channel", channel_id=channel.pk)


@login_required
@require_POST
def channel_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    access = get_channel_access(request.user, channel_id)
    name = access.channel.name
    return _perform(
        request,
        lambda: channel_services.delete_channel(actor=request.user, channel=access.channel),
        f"Channel “{name}” deleted.",
        then=reverse("chat-channels"),
    )


@login_required
@require_POST
def channel_join(request: HttpRequest, channel_id: int) -> HttpResponse:
    access = get_channel_access(request.user, channel_id)
    return _perform(
        request,
        lambda: membership_services.join_channel(actor=request.user, channel=access.channel),
        f"You joined “{access.channel.name}”.",
        then=_back_to(access.channel),
    )


@login_required
@require_POST
def channel_leave(request: HttpRequest, channel_id: int) -> HttpResponse:
    access = get_channel_access(request.user, channel_id)
    return _perform(
        request,
        lambda: membership_services.leave_channel(actor=request.user, channel=access.channel),
        f"You left “{access.channel.name}”.",
        then=reverse("chat-channels"),
    )


@login_required
@require_POST
def member_add(request: HttpRequest, channel_id: int) -> HttpResponse:
    access = get_channel_access(request.user, channel_id)
    if not policy.can_add_members(access):
        return _refused(request, membership_services.add_refusal(access))
    form = AddMemberForm(request.POST)
    if form.is_valid():
        user = User.objects.by_username(form.cleaned_data["username"]).filter(is_active=True).first()
        if user is None:
            form.add_error("username", "No active member has that user name.")
    if not form.is_valid():
        return _render_detail(request, access, add_form=form, status=400)
    return _perform(
        request,
        lambda: membership_services.add_members(actor=request.user, channel=access.channel, users=[user]),
        f"{user.username} added.",
        then=_back_to(access.channel),
    )


@login_required
@require_GET
def member_search(request: HttpRequest, channel_id: int) -> JsonResponse:
    """User names starting with ?q=, for the Add members field; only for those who may add."""
    access = get_channel_access(request.user, channel_id)
    if not policy.can_add_members(access):
        return JsonResponse({"error": "not allowed"}, status=403)
    prefix = request.GET.get("q", "").strip()
    if not prefix:
        return JsonResponse({"users": []})
    users = (
        User.objects.filter(username__istartswith=prefix, is_active=True)
        .exclude(Exists(Membership.objects.filter(channel=access.channel, user=OuterRef("pk"))))
        .order_by(Lower("username"))
        .values("id", "username")[:SEARCH_LIMIT]
    )
    return JsonResponse({"users": list(users)})


def _member_action(service: Callable, success: str) -> Callable[[HttpRequest, int, int], HttpResponse]:
    """A POST view acting on one person in a channel: remove, promote, demote, ban, unban."""

    @login_required
    @require_POST
    def view(request: HttpRequest, channel_id: int, user_id: int) -> HttpResponse:
        access = get_channel_access(request.user, channel_id)
        target = get_object_or_404(User, pk=user_id)
        return _perform(
            request,
            lambda: service(actor=request.user, channel=access.channel, user=target),
            success.format(user=target.username),
            then=_back_to(access.channel),
        )

    return view


member_remove = _member_action(membership_services.remove_member, "{user} removed.")
member_promote = _member_action(membership_services.promote_moderator, "{user} is now a moderator.")
member_demote = _member_action(membership_services.demote_moderator, "{user} is no longer a moderator.")
user_ban = _member_action(membership_services.ban_user, "{user} banned.")
user_unban = _member_action(membership_services.unban_user, "{user} unbanned.")


@login_required
@require_POST
def subchannel_join(request: HttpRequest, channel_id: int, subchannel_id: int) -> HttpResponse:
    access = get_channel_access(request.user, channel_id)
    subchannel = get_object_or_404(access.channel.subchannels, pk=subchannel_id)
    return _perform(
        request,
        lambda: elastic_services.join_subchannel(actor=request.user, channel=access.channel, subchannel=subchannel),
        f"You now sit in sub-channel {subchannel.number}.",
        then=_back_to(access.channel),
    )


@login_required
@require_POST
def direct_open(request: HttpRequest, user_id: int) -> HttpResponse:
    other = get_object_or_404(User, pk=user_id, is_active=True)
    try:
        channel = channel_services.open_direct_channel(actor=request.user, other=other)
    except NotAllowed as error:
        return _refused(request, str(error))
    return redirect("chat-conversation", channel_id=channel.pk)


def _refused(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "chat/refused.html", {"reason": reason}, status=403)
