"""Full-text search over what a person may read now (issue 17): one interface, two engines.

    results = search(actor=user, text='wool from:@ann in:#knitting "spare yarn" has:file after:2026-11-01')

The query's words and quoted phrases are searched in the message index (chat/services/search_index.py:
SQLite FTS5, or PostgreSQL's stored tsvector column with its GIN index); `in:#channel`, `from:@user`,
`has:file`, `before:YYYY-MM-DD` and `after:YYYY-MM-DD` filter. Only messages of streams the person
may read now are searched (`readable_messages`: their channels and seats, every sub-channel of the
channels they moderate, public channels they are not banned from; everything for administrators),
never redacted or deleted ones. A page takes the same few queries whatever it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from chat import policy
from chat.models import Attachment, Ban, Membership, Message, Privacy, Role
from chat.services import reads
from chat.services.search_index import FTS_TABLE, uses_fts5

PAGE_SIZE = 20
BEST_WINDOW = 1000  # best match first ranks this many of the newest matches
MAX_QUERY_CHARS = 500
SNIPPET_CHARS = 240
ORDERS = ("newest", "best")
_TOKENS = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class Query:
    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    channel: str | None = None  # in:#name
    author: str | None = None  # from:@username
    has_file: bool = False
    before: date | None = None
    after: date | None = None

    @property
    def terms(self) -> tuple[str, ...]:
        return self.words + self.phrases

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.channel or self.author or self.has_file or self.before or self.after)


@dataclass(frozen=True)
class Hit:
    message: Message
    snippet: SafeString  # the text with the matched words in <mark>, escaped: safe to show as it is


@dataclass(frozen=True)
class Results:
    query: Query
    hits: list[Hit] = field(default_factory=list)
    page: int = 1
    has_next: bool = False
    order: str = "newest"


def parse(text: str) -> Query:
    """The words, phrases and filters of a search box's text; a filter it cannot read is a word."""
    words: list[str] = []
    phrases: list[str] = []
    found: dict = {}
    for phrase, token in _TOKENS.findall((text or "")[:MAX_QUERY_CHARS]):
        if phrase:
            if _WORD.search(phrase):
                phrases.append(" ".join(phrase.split()))
            continue
        key, _, value = token.partition(":")
        if key == "in" and value.lstrip("#"):
            found["channel"] = value.lstrip("#")
        elif key == "from" and value.lstrip("@"):
            found["author"] = value.lstrip("@")
        elif key == "has" and value == "file":
            found["has_file"] = True
        elif key in ("before", "after") and _date(value) is not None:
            found[key] = _date(value)
        elif _WORD.search(token):
            words.append(token.strip("\"'"))
    return Query(words=tuple(words), phrases=tuple(phrases), **found)


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def readable_messages(user) -> QuerySet:
    """Every message `user` may read now, still there (policy.can_read_stream, less banned channels)."""
    base = Message.objects.filter(stream__isnull=False, redacted_at__isnull=True)
    if not user.is_authenticated or not user.is_active:
        return base.none()
    if policy.is_admin(user):
        return base
    banned = Ban.objects.active().filter(user=user).values("channel_id")
    moderated = Membership.objects.filter(user=user, role=Role.MODERATOR).values("channel_id")
    public = Q(channel__privacy=Privacy.PUBLIC, channel__is_direct=False) & ~Q(channel_id__in=banned)
    return base.filter(Q(stream_id__in=reads.member_stream_keys(user)) | Q(channel_id__in=moderated) | public)


def search(*, actor, text: str = "", query: Query | None = None, page: int = 1, order: str = "newest") -> Results:
    query = query if query is not None else parse(text)
    order = order if order in ORDERS else "newest"
    page = max(1, page)
    if query.is_empty:
        return Results(query=query, order=order)
    found = _filtered(readable_messages(actor), query)
    start = (page - 1) * PAGE_SIZE
    if order == "best" and query.terms:
        rows = _best_page(found, query, start)
    else:
        newest = _newest_matches(found, query) if query.terms else found.order_by("-id")
        rows = list(newest.select_related("author", "channel")[start : start + PAGE_SIZE + 1])
    hits = [Hit(message, highlight(message.content, query.terms)) for message in rows[:PAGE_SIZE]]
    return Results(query=query, hits=hits, page=page, has_next=len(rows) > PAGE_SIZE, order=order)


def _best_page(found: QuerySet, query: Query, start: int) -> list[Message]:
    """Best match first ranks the newest BEST_WINDOW matches (two queries: their ids and ranks, then
    the page): ranking every match of a common word in a million messages would sort hundreds of
    thousands of rows per query."""
    window = list(_newest_matches(found, query, ranked=True).values_list("id", "search_rank")[:BEST_WINDOW])
    # FTS5's rank is better the lower it is; ts_rank the higher.
    window.sort(key=lambda row: (row[1] if uses_fts5() else -row[1], -row[0]))
    ids = [pk for pk, _ in window[start : start + PAGE_SIZE + 1]]
    by_id = Message.objects.select_related("author", "channel").in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def _filtered(found: QuerySet, query: Query) -> QuerySet:
    if query.channel:
        found = found.filter(channel__name__iexact=query.channel)
    if query.author:
        found = found.filter(author__username__iexact=query.author)
    if query.has_file:
        found = found.filter(Exists(Attachment.objects.filter(message=OuterRef("pk"))))
    if query.before:
        found = found.filter(created_at__lt=_midnight(query.before))
    if query.after:
        found = found.filter(created_at__gte=_midnight(query.after + timedelta(days=1)))
    return found


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _newest_matches(found: QuerySet, query: Query, *, ranked: bool = False) -> QuerySet:
    if uses_fts5():
        # Newest first walks the index backwards by rowid (the message id) and stops at a page:
        # a common word costs no more than a rare one.
        return found.extra(  # noqa: S610 (fixed SQL; the query text is a parameter)
            tables=[FTS_TABLE],
            where=[f"{FTS_TABLE}.rowid = chat_message.id", f"{FTS_TABLE} MATCH %s"],
            params=[fts5_query(query)],
            select={"search_rank": f"{FTS_TABLE}.rank"} if ranked else None,
            order_by=[f"-{FTS_TABLE}.rowid"],
        )
    return found.extra(  # noqa: S610 (fixed SQL; the query text is a parameter)
        where=[f"chat_message.search_vector @@ {_TSQUERY}"],
        params=_ts_params(query),
        select={"search_rank": f"ts_rank(chat_message.search_vector, {_TSQUERY})"} if ranked else None,
        select_params=_ts_params(query) if ranked else None,
    ).order_by("-id")


_TSQUERY = "websearch_to_tsquery(%s::regconfig, %s)"


def _ts_params(query: Query) -> list[str]:
    return [settings.SEARCH_LANGUAGE, websearch_query(query)]


def fts5_query(query: Query) -> str:
    """Every word and phrase, each quoted (FTS5's syntax characters are then plain text), all required."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in query.terms)


def websearch_query(query: Query) -> str:
    return " ".join([word.replace('"', " ") for word in query.words] + [f'"{phrase}"' for phrase in query.phrases])


def highlight(content: str, terms: tuple[str, ...]) -> SafeString:
    """The message's text around its first match, escaped, each matched word or phrase in <mark>."""
    usable = sorted({term for term in terms if term.strip()}, key=len, reverse=True)
    if not usable:
        return escape(content[:SNIPPET_CHARS])
    pattern = re.compile(r"(?<!\w)(" + "|".join(_loose(term) for term in usable) + r")(?!\w)", re.IGNORECASE)
    first = pattern.search(content)
    start = max(0, first.start() - SNIPPET_CHARS // 3) if first else 0
    window = content[start : start + SNIPPET_CHARS]
    pieces, last = [], 0
    for match in pattern.finditer(window):
        pieces += [escape(window[last : match.start()]), f"<mark>{escape(match.group(0))}</mark>"]
        last = match.end()
    pieces.append(escape(window[last:]))
    prefix = "…" if start else ""
    suffix = "…" if start + SNIPPET_CHARS < len(content) else ""
    return mark_safe(prefix + "".join(pieces) + suffix)  # noqa: S308 (every piece escaped above)


def _loose(term: str) -> str:
    """A term as a pattern: its words in order, whatever space or punctuation between them."""
    return r"\W+".join(re.escape(word) for word in re.findall(r"\w+", term)) or re.escape(term)


def with_filters(query: Query, **controls) -> Query:
    """The query with the page's controls (a channel, a person, files only, dates) added."""
    return replace(query, **{name: value for name, value in controls.items() if value})
