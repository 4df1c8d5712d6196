"""Label regexes: the same answers as a backtracking engine, in linear time, with clear refusals."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.core.warnings.regexes import RegexError, compile_regex
from tocsin.core.warnings.selectors import parse_matcher

ATOMS = st.sampled_from(["a", "b", "c", ".", "[ab]", "[^a]", "\\d", "[a-c]", "\\.", "x?"])


def patterns(depth: int = 3) -> st.SearchStrategy[str]:
    """Random patterns of the supported syntax over a small alphabet (bounded size)."""
    return st.recursive(
        ATOMS,
        lambda inner: st.one_of(
            st.tuples(inner, inner).map("".join),
            st.tuples(inner, inner).map(lambda p: f"{p[0]}|{p[1]}"),
            inner.map(lambda p: f"({p})"),
            inner.map(lambda p: f"(?:{p})*"),
            inner.map(lambda p: f"(?:{p})+"),
            inner.map(lambda p: f"(?:{p})?"),
            st.tuples(inner, st.integers(0, 2), st.integers(0, 2)).map(
                lambda p: f"(?:{p[0]}){{{min(p[1], p[2])},{max(p[1], p[2])}}}"
            ),
        ),
        max_leaves=depth * 2,
    )


@settings(max_examples=400, deadline=None)
@given(patterns(), st.text(alphabet="abc1.x", max_size=8))
def test_full_matches_agree_with_pythons_engine(pattern: str, text: str) -> None:
    expected = re.fullmatch(pattern, text) is not None
    assert compile_regex(pattern).fullmatch(text) is expected


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        ("ITA.*", ["ITA", "ITA-D0613"], ["XITA", "it"]),
        ("P1|P2", ["P1", "P2"], ["P12", "P"]),
        ("(?i)red", ["RED", "Red"], ["reds"]),
        ("^a$", ["a"], ["", "aa"]),
        ("[]a]+", ["]a]"], ["b"]),
        ("a{2,3}", ["aa", "aaa"], ["a", "aaaa"]),
        ("a{,2}", ["a{,2}"], ["aa"]),  # not a repetition: literal, as in RE2
        ("[\\w-]+\\.x", ["a-b.x"], ["a b.x"]),
        ("\\S+\\s\\D", ["ab x"], ["ab 1"]),
    ],
)
def test_examples(pattern: str, yes: list[str], no: list[str]) -> None:
    regex = compile_regex(pattern)
    assert all(regex.fullmatch(t) for t in yes)
    assert not any(regex.fullmatch(t) for t in no)


def test_a_catastrophic_pattern_for_backtracking_is_linear_here() -> None:
    # Python's re needs about 9 s for n = 28 (doubling per character); 20,000 would never end
    regex = compile_regex("(a+)+b")
    assert not regex.fullmatch("a" * 20_000)
    assert regex.fullmatch("a" * 20_000 + "b")
    assert not compile_regex("(a|aa)*c").fullmatch("a" * 20_000)
    assert not compile_regex("(.*a){12}").fullmatch("a" * 11 + "b" * 5_000)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a", "missing )"),
        ("a)", "unbalanced )"),
        ("*a", "unexpected '*'"),
        ("(\\w)\\1", "back-references are not supported"),
        ("(?=a)", "unsupported group syntax"),
        ("a**", "nested quantifier"),
        ("a{5,2}", "bad repetition"),
        ("a{2000}", "bad repetition"),
        ("[z-a]", "bad range"),
        ("\\p", "unsupported escape"),
        ("(?:(?:(?:a{1000}){1000}))", "too large"),
        ("a" * 1001, "longer than 1000"),
    ],
)
def test_refusals_say_what_and_where(pattern: str, reason: str) -> None:
    with pytest.raises(RegexError, match=re.escape(reason)):
        compile_regex(pattern)


def test_a_matcher_reports_a_bad_regex_and_refuses_huge_text() -> None:
    with pytest.raises(ValueError, match="bad regular expression: missing \\)"):
        parse_matcher('alertname=~"(a"')
    with pytest.raises(ValueError, match="longer than"):
        parse_matcher("a=" + " " * 5_000 + "x")
    assert parse_matcher('alertname=~"(a+)+b"').matches({"alertname": "a" * 5_000}) is False
