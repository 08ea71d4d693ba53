"""Search: the permission matrix (every role × privacy × placement), the query language, the index
kept in step, highlighting and constant queries per page."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Ban, Membership, Message, Privacy
from chat.services import messages as message_service
from chat.services import search as service
from chat.services import search_index
from chat.services.memberships import add_members, remove_member

ROLES = ("admin", "moderator", "member", "non-member", "banned", "removed")
PLACEMENTS = ("standard", "elastic-own", "elastic-other")
# fmt: off
# Found? Columns: private, public.
MATRIX = {
    #                 admin  moderator member non-member banned removed
    "standard":      ("YY",  "YY",     "YY",  "NY",      "NN",  "NY"),
    "elastic-own":   ("YY",  "YY",     "YY",  "NY",      "NN",  "NY"),
    "elastic-other": ("YY",  "YY",     "NY",  "NY",      "NN",  "NY"),
}
# fmt: on
PRIVACIES = (Privacy.PRIVATE, Privacy.PUBLIC)


def send(user, channel, content, **kwargs):
    return message_service.send_message(
        actor=user, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4(), **kwargs
    ).message


def found(user, text, **kwargs):
    return [hit.message.content for hit in service.search(actor=user, text=text, **kwargs).hits]


def world(placement, privacy, make_user, make_channel, make_elastic):
    """The channel, the message to find, and a person in each role."""
    owner, admin = make_user("owner"), make_user("admin", is_staff=True, is_superuser=True)
    people = {name: make_user(name) for name in ("member", "second", "third", "fourth", "stranger", "banned", "gone")}
    if placement == "standard":
        channel = make_channel(owner, name="Knitting", privacy=privacy)
    else:
        channel = make_elastic(owner, name="Knitting", privacy=privacy, maximum=3, target=2)
    for name in ("member", "second", "third", "fourth"):  # elastic: member and second in #1, third and fourth in #2
        add_members(actor=owner, channel=channel, users=[people[name]])
    add_members(actor=owner, channel=channel, users=[people["gone"]])
    author = people["third"] if placement == "elastic-other" else people["second"]
    message = send(author, channel, "the marmalade pattern")
    remove_member(actor=owner, channel=channel, user=people["gone"])
    Ban.objects.create(channel=channel, user=people["banned"])
    Membership.objects.filter(channel=channel, user=people["banned"]).delete()
    roles = {
        "admin": admin,
        "moderator": owner,
        "member": people["member"],
        "non-member": people["stranger"],
        "banned": people["banned"],
        "removed": people["gone"],
    }
    return channel, message, roles


CASES = [
    pytest.param(placement, role, column, id=f"{placement}-{role}-{PRIVACIES[column]}")
    for placement in PLACEMENTS
    for role in ROLES
    for column in range(len(PRIVACIES))
]


@pytest.mark.django_db
@pytest.mark.parametrize(("placement", "role", "column"), CASES)
def test_search_finds_exactly_what_each_role_may_read(make_user, make_channel, make_elastic, placement, role, column):
    channel, message, roles = world(placement, PRIVACIES[column], make_user, make_channel, make_elastic)
    if placement == "elastic-own":
        assert Membership.objects.get(user=roles["member"]).subchannel_id == message.subchannel_id
    if placement == "elastic-other":
        assert Membership.objects.get(user=roles["member"]).subchannel_id != message.subchannel_id
    expected = MATRIX[placement][ROLES.index(role)][column] == "Y"
    assert found(roles[role], "marmalade") == (["the marmalade pattern"] if expected else [])


@pytest.mark.django_db
def test_redacted_edited_and_deleted_messages_follow_the_index(room, admin_user):
    channel, mod, ann = room
    kept = send(ann, channel, "plain wool")
    gone = send(ann, channel, "secret wool")
    removed = send(ann, channel, "removed wool")
    message_service.edit_message(actor=ann, message_id=kept.pk, content="plain cotton")
    message_service.redact_message(actor=ann, message_id=gone.pk)
    message_service.delete_message(actor=admin_user, message_id=removed.pk)
    assert found(ann, "wool") == []
    assert found(ann, "cotton") == ["plain cotton"]
    assert search_index.rebuild() in (0, 1)  # SQLite: the one readable message is indexed again
    assert found(ann, "cotton") == ["plain cotton"]


@pytest.mark.django_db
def test_filters_and_phrases(room, make_channel, make_user):
    channel, mod, ann = room
    other = make_channel(mod, name="Weaving", privacy=Privacy.PRIVATE)
    add_members(actor=mod, channel=other, users=[ann])
    send(ann, channel, "blue yarn for the scarf")
    send(mod, channel, "yarn blue is nice")
    send(mod, other, "blue yarn in weaving")
    assert found(ann, '"blue yarn"') == ["blue yarn in weaving", "blue yarn for the scarf"]
    assert found(ann, "yarn in:#weaving") == ["blue yarn in weaving"]
    assert found(ann, "yarn from:@mod") == ["blue yarn in weaving", "yarn blue is nice"]
    assert found(ann, "yarn has:file") == []
    today = timezone.localdate()
    assert found(ann, f"yarn before:{today}") == []
    assert len(found(ann, f"yarn before:{today + timedelta(days=1)}")) == 3
    assert found(ann, f"yarn after:{today}") == []
    assert len(found(ann, f"yarn after:{today - timedelta(days=1)}")) == 3
    assert found(ann, "from:@ann") == ["blue yarn for the scarf"]


def test_the_query_language_is_parsed():
    query = service.parse('wool in:#Knitting from:@ann has:file before:2026-11-01 after:2026-10-01 "spare yarn" x:y')
    assert query.words == ("wool", "x:y")
    assert query.phrases == ("spare yarn",)
    assert (query.channel, query.author, query.has_file) == ("Knitting", "ann", True)
    assert (str(query.before), str(query.after)) == ("2026-11-01", "2026-10-01")
    assert service.parse("before:soon").words == ("before:soon",)
    assert service.parse('"" ---').is_empty


@pytest.mark.parametrize(
    ("content", "terms", "expected"),
    [
        ("I love <b>wool</b>", ("wool",), "I love &lt;b&gt;<mark>wool</mark>&lt;/b&gt;"),
        ("Woolly WOOL wool", ("wool",), "Woolly <mark>WOOL</mark> <mark>wool</mark>"),
        ("spare  yarn here", ("spare yarn",), "<mark>spare  yarn</mark> here"),
    ],
)
def test_highlighting_is_escaped_html_with_marks(content, terms, expected):
    assert str(service.highlight(content, terms)) == expected


@pytest.mark.django_db
def test_fts_syntax_in_the_query_is_plain_text(room):
    channel, mod, ann = room
    send(ann, channel, "NEAR the AND OR * column: wool")
    assert found(ann, 'NEAR( AND * "col" wool') == []
    assert found(ann, "wool column:") == ["NEAR the AND OR * column: wool"]


@pytest.mark.django_db
def test_pages_and_best_match(room):
    channel, mod, ann = room
    for index in range(service.PAGE_SIZE + 5):
        send(mod, channel, f"wool note {index}")
    send(mod, channel, "wool wool wool wool")
    first = service.search(actor=ann, text="wool")
    second = service.search(actor=ann, text="wool", page=2)
    assert (len(first.hits), first.has_next, len(second.hits), second.has_next) == (service.PAGE_SIZE, True, 6, False)
    assert first.hits[0].message.content == "wool wool wool wool"
    assert service.search(actor=ann, text="wool", order="best").hits[0].message.content == "wool wool wool wool"


@pytest.mark.django_db
def test_a_page_of_results_takes_constant_queries(room, make_channel, django_assert_max_num_queries):
    channel, mod, ann = room
    send(mod, channel, "wool once")
    with django_assert_max_num_queries(20) as few:
        assert len(service.search(actor=ann, text="wool").hits) == 1
    for index in range(30):
        extra = make_channel(mod, name=f"Extra {index}", privacy=Privacy.PUBLIC)
        send(mod, extra, f"wool in extra {index}")
    with django_assert_max_num_queries(len(few)):
        assert len(service.search(actor=ann, text="wool").hits) == service.PAGE_SIZE
    assert Message.objects.count() == 31
