import pytest

from chat.streams import StreamKey, user_group


@pytest.mark.parametrize(("raw", "key"), [("12", StreamKey(12)), ("12:3", StreamKey(12, 3))])
def test_keys_round_trip(raw, key):
    assert StreamKey.parse(raw) == key
    assert str(key) == raw


@pytest.mark.parametrize("raw", ["", "0", "-1", "1:2:3", "a", "1:", ":1", "１２", 12, None, "9" * 41, "1.5"])
def test_bad_keys_are_refused(raw):
    with pytest.raises(ValueError, match="stream key"):
        StreamKey.parse(raw)


def test_group_names_use_only_allowed_characters():
    assert StreamKey(12, 3).group == "stream.12_3"
    assert StreamKey(12).group == "stream.12"
    assert user_group(7) == "user.7"
