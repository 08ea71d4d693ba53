"""Keyword and emoji trends: the words and emoji most used in a channel's recent messages.

Read from at most SAMPLE of the channel's newest messages of the last days (one query per
channel, bounded by the id of the period's first message so that it reads an index range, never
the whole table), so the cost does not grow with the history.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from chat.models import Message

SAMPLE = 300
TOP = 8
_WORD = re.compile(r"(?<![@#\w/])[^\W\d_][\w'’-]{2,}", re.UNICODE)
_LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_EMOJI = re.compile(
    "(?:[\U0001f1e6-\U0001f1ff]{2})"  # flags
    "|(?:[\U0001f300-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff][\ufe0f\U0001f3fb-\U0001f3ff]?"
    "(?:\u200d[\U0001f300-\U0001faff\u2600-\u27bf][\ufe0f]?)*)"
)
_STOP = """
    about above after again all also and any are aren't because been before being below between both but
    can can't cannot could couldn't did didn't does doesn't doing don't down during each few for from further
    get got had hadn't has hasn't have haven't having her here hers herself him himself his how i'd i'll i'm
    i've into isn't it's its itself just let's like more most much must my myself nor not now off once only
    other ought our ours ourselves out over own really same she'd she'll she's should shouldn't some such than
    that that's the their theirs them themselves then there there's these they they'd they'll they're they've
    this those through too under until very was wasn't we'd we'll we're we've were weren't what what's when
    when's where where's which while who who's whom why why's will with won't would wouldn't yes yet you
    you'd you'll you're you've your yours yourself yourselves one two going know think want see yeah okay
    """
STOP_WORDS = frozenset(_STOP.split())


@dataclass(frozen=True)
class Trends:
    keywords: list[tuple[str, int]]
    emoji: list[tuple[str, int]]
    sampled: int


def first_message_id_since(since: datetime) -> int | None:
    """The id of the first message at or after `since` (ids grow with time): one index lookup."""
    return Message.objects.filter(created_at__gte=since).order_by("created_at").values_list("pk", flat=True).first()


def recent_texts(channel_id: int, first_id: int | None) -> list[str]:
    if first_id is None:
        return []
    return list(
        Message.objects.filter(channel_id=channel_id, pk__gte=first_id, redacted_at__isnull=True)
        .order_by("-pk")
        .values_list("content", flat=True)[:SAMPLE]
    )


def trends_of(texts: list[str]) -> Trends:
    words: Counter[str] = Counter()
    emoji: Counter[str] = Counter()
    for text in texts:
        emoji.update(_EMOJI.findall(text))
        text = _LINK.sub(" ", text)
        words.update(
            word
            for word in (
                match.lower().strip("'’-").removesuffix("’s").removesuffix("'s") for match in _WORD.findall(text)
            )
            if word not in STOP_WORDS
        )
    return Trends(keywords=words.most_common(TOP), emoji=emoji.most_common(TOP), sampled=len(texts))


def channel_trends(channel_id: int, first_id: int | None) -> Trends:
    return trends_of(recent_texts(channel_id, first_id))
