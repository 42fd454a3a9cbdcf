"""engine/names.py: AWS's name rule, the same with the surrogates checked apart from the regex."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InvalidRequest
from engine.names import check_name

# The rule as one character class (what names.py held before it checked surrogates apart).
ONE_CLASS = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def accepted(name: str) -> bool:
    try:
        check_name(name)
    except InvalidRequest:
        return False
    return True


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=90))
def test_the_rule_is_the_one_character_class(name: str) -> None:
    assert accepted(name) == (1 <= len(name) <= 80 and ONE_CLASS.search(name) is None)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("order-7_a.b", True),
        ("naïve", True),
        ("a\u3000b", False),  # Unicode whitespace
        ("a\x85b", False),  # a C1 control
        ("a\ud800b", False),  # a lone surrogate
        ("", False),
        ("x" * 80, True),
        ("x" * 81, False),
    ],
)
def test_names(name: str, ok: bool) -> None:
    assert accepted(name) is ok


def test_a_surrogate_is_named_in_the_message() -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_name("a\ud800b", "execution name")
    assert caught.value.message == (
        "Invalid Name: 'a\ufffdb': an execution name must be valid Unicode (it holds a lone "
        "UTF-16 surrogate)"
    )
