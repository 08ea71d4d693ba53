import pytest

from chat.exceptions import InvalidRequest
from chat.services.text import NotText, check_text, utf8


def test_text_is_encoded_once_and_its_bytes_counted():
    assert utf8("héllo \U0001f600") == "héllo \U0001f600".encode()
    assert check_text("Working from home") == "Working from home"


@pytest.mark.parametrize("value", ["\ud800", "brb \udfff", "\udbff\udbff"])
def test_a_lone_surrogate_is_not_text(value):
    with pytest.raises(NotText) as caught:
        utf8(value, "status text")
    assert isinstance(caught.value, InvalidRequest)
    assert "status text" in caught.value.message
    with pytest.raises(NotText):
        check_text(value)
