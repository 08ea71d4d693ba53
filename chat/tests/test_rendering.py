from html.parser import HTMLParser

import pytest

from chat.rendering import ALLOWED_TAGS, mention_candidates, render_message


class ElementCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def members(*names):
    known = set(names)
    return lambda candidates: {name for name in candidates if name in known}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**bold** _it_ `code`", "<p><strong>bold</strong> <em>it</em> <code>code</code></p>"),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        ("```\nx < y\n```", "<pre><code>x &lt; y\n</code></pre>"),
        ("one\ntwo", "<p>one<br>\ntwo</p>"),
        ("# not a heading", "<p># not a heading</p>"),
    ],
)
def test_the_safe_markdown_subset(text, expected):
    assert render_message(text).html == expected


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "[click](data:text/html,<script>alert(1)</script>)",
        '<a href="https://x.example" onclick="alert(1)">x</a>',
        "<iframe src=https://x.example></iframe>",
    ],
)
def test_nothing_executable_survives(text):
    collector = ElementCollector()
    collector.feed(render_message(text).html)
    for tag, attrs in collector.elements:
        assert tag in ALLOWED_TAGS
        assert not [name for name in attrs if name.startswith("on")]
        assert attrs.get("href", "https:").startswith(("https:", "http:", "mailto:"))


def test_links_get_rel_noopener_nofollow_ugc():
    assert render_message("[site](https://example.org)").html == (
        '<p><a href="https://example.org" rel="noopener nofollow ugc">site</a></p>'
    )


def test_mentions_of_members_are_highlighted_and_reported():
    rendered = render_message("hi @Alice and @bob.smith. not @carol", members_among=members("alice", "bob.smith"))
    assert rendered.html == (
        '<p>hi <span class="mention">@Alice</span> and <span class="mention">@bob.smith</span>. not @carol</p>'
    )
    assert rendered.mentions == {"alice", "bob.smith"}


@pytest.mark.parametrize("text", ["`@alice`", "```\n@alice\n```", "[@alice](https://x.example)", "mail@alice.example"])
def test_no_mentions_inside_code_links_or_addresses(text):
    rendered = render_message(text, members_among=members("alice", "alice.example"))
    assert rendered.mentions == set()
    assert "mention" not in rendered.html


def test_member_lookup_is_asked_once_and_only_with_written_names():
    asked = []

    def lookup(names):
        asked.append(set(names))
        return set()

    render_message("@a @b @a", members_among=lookup)
    render_message("no mentions at all", members_among=lookup)
    assert asked == [{"a", "b"}]
    assert mention_candidates("@x.y. @z") == {"x.y", "z"}
