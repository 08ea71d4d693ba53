"""chat/templatetags/chat_display.py: initials, avatar colours, my own mentions."""

import pytest

from chat.rendering import render_message
from chat.templatetags.chat_display import avatar_colour, initials, mentions_me


@pytest.mark.parametrize(
    ("name", "expected"),
    [("alice", "AL"), ("jean-luc", "JL"), ("mary.ann_smith", "MA"), ("x", "X"), ("", "?"), ("demo0001", "DE")],
)
def test_initials(name, expected):
    assert initials(name) == expected


def test_a_person_keeps_one_of_twelve_colours():
    assert avatar_colour(7) == avatar_colour(19) == 7
    assert {avatar_colour(user_id) for user_id in range(100)} == set(range(12))
    assert avatar_colour(None) == 0


def test_my_mentions_are_marked_and_others_are_not():
    html = render_message("hi @Bob and @carol", members_among=lambda names: set(names)).html
    marked = mentions_me(html, "bob")
    assert '<span class="mention mention-me">@Bob</span>' in marked
    assert '<span class="mention">@carol</span>' in marked
    assert mentions_me(html, "") == html
