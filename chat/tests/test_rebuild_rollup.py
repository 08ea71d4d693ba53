"""manage.py rebuild_rollup: the dashboards' counts recomputed from the messages."""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from chat.models import ChannelHour, ChannelUserDay
from chat.services.messages import send_message


def test_it_puts_back_what_the_messages_say(room):
    channel, mod, ann = room
    for author in (ann, ann, mod):
        send_message(actor=author, channel_id=channel.pk, content="hi", client_msg_id=uuid.uuid4())
    ChannelHour.objects.all().delete()
    ChannelUserDay.objects.all().delete()
    out = StringIO()
    call_command("rebuild_rollup", stdout=out)
    assert out.getvalue().strip() == "rollup rebuilt: 1 channel hours, 2 person days"
    row = ChannelHour.objects.get(channel=channel)
    assert (row.messages, row.senders) == (3, 2)


def test_days_must_be_positive(db):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("rebuild_rollup", days=0)
