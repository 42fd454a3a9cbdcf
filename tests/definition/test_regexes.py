"""JSONata regexes run on RE2 (linear time) and each evaluation has a step and time budget.

Issue 13: `$contains(s, /(a+)+$/)` on 28 a's and a `b` blocked the process for ~14 s under
Python's backtracking `re`; 40 a's would take hours there, so the tests below with 40 a's (and
a timeout marker) fail on a backtracking engine and finish in milliseconds on RE2. The
agreement property checks RE2 against Python's `re` on patterns where both are defined.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonata import Jsonata

from engine.definition.choice import compile_choice_rule
from engine.definition.intrinsics import parse_intrinsic
from engine.definition.jsonata import (
    EVALUATION_TIME_BUDGET,
    QueryEvaluationError,
    compile_value,
    states_binding,
)
from engine.definition.regexes import Re2Pattern, RefusedPattern, compile_regex
from engine.definition.scope import Scope
from engine.definition.validate import iter_diagnostics
from engine.errors import STATES_QUERY_EVALUATION_ERROR
from engine.values import JSON

EVIL = "a" * 40 + "b"  # (a+)+$ backtracks 2**40 ways on this under Python's re


def evaluate(expression: str, state_input: JSON = None) -> JSON:
    compiled = compile_value("{% " + expression + " %}", "Output")
    return compiled.evaluate(states_binding(state_input), Scope())


def failure(expression: str, state_input: JSON = None) -> QueryEvaluationError:
    with pytest.raises(QueryEvaluationError) as caught:
        evaluate(expression, state_input)
    assert caught.value.error == STATES_QUERY_EVALUATION_ERROR
    return caught.value


def output_cause(expression: str, message: str) -> str:
    """AWS's cause for an Output expression that failed while it was evaluated."""
    return (
        f"The JSONata expression '{expression}' specified for the field 'Output' threw an error "
        f"during evaluation: {message}"
    )


# -- linear time ------------------------------------------------------------------------------

LINEAR: list[tuple[str, str, JSON, JSON]] = [
    ("contains", "$contains($states.input, /(a+)+$/)", EVIL, False),
    ("contains-true", "$contains($states.input, /(a+)+$/)", "a" * 40, True),
    ("contains-chained", "$states.input ~> $contains(/(a+)+$/)", EVIL, False),
    ("match", "[$match($states.input, /(a+)+$/)]", EVIL, []),
    ("match-found", "$match($states.input, /(a|aa)+b/).index", EVIL, 0),
    ("replace", "$replace($states.input, /(a+)+$/, 'x')", EVIL, EVIL),
    ("replace-chained", "$states.input ~> $replace(/(a+)+$/, 'x')", EVIL, EVIL),
    ("split", "$split($states.input, /(a+)+c/)", EVIL, [EVIL]),
    ("regex-called", "$exists(/(a+)+$/($states.input))", EVIL, False),
    ("nested-stars", "$contains($states.input, /(a*)*(b*)*c/)", EVIL, False),
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("expression", "state_input", "expected"), [c[1:] for c in LINEAR], ids=[c[0] for c in LINEAR]
)
def test_backtracking_patterns_run_in_linear_time(
    expression: str, state_input: JSON, expected: JSON
) -> None:
    assert evaluate(expression, state_input) == expected


@pytest.mark.timeout(20)
def test_a_long_text_is_searched_once() -> None:
    text = "a" * 200_000 + "b"
    assert evaluate("$contains($states.input, /(a+)+$/)", text) is False
    assert evaluate("$contains($states.input, /(a+)+b$/)", text) is True


def test_literals_compile_through_the_regex_engine_hook() -> None:
    # The hook is jsonata-python's public `regex_engine` argument (0.7): if a release stops
    # passing literals to it, the parsed literal is no longer ours and this fails.
    parsed = Jsonata("/(a+)+$/", compile_regex)
    assert isinstance(parsed.ast.value, Re2Pattern)
    assert isinstance(Jsonata("/a(?=b)/", compile_regex).ast.value, RefusedPattern)


# -- dialect ----------------------------------------------------------------------------------

DIALECT: list[tuple[str, str, JSON, JSON]] = [
    ("case-insensitive", "$contains($states.input, /HELLO/i)", "say hello", True),
    ("multiline", "$match($states.input, /^b/m).index", "a\nb", 2),
    ("no-multiline", "$contains($states.input, /^b/)", "a\nb", False),
    ("dollar-is-end-of-text", "$contains($states.input, /a$/)", "a\n", False),
    (
        "unicode-escape",
        "$match($states.input, /\\u00e9+/).match",
        "caf\u00e9\u00e9",
        "\u00e9\u00e9",
    ),
    ("escaped-slash", "$contains($states.input, /a\\/b/)", "a/b", True),
    ("named-group", "$match($states.input, /(?<y>[0-9]+)-/).groups", "2024-01", ["2024"]),
    ("digit-is-ascii", "$contains($states.input, /\\d/)", "\u0663", False),
    ("groups", "$match($states.input, /(a)(x)?/).groups", "a", ["a", None]),
    # $split keeps JavaScript's rule: captured separators are not part of the result.
    ("split-groups", "$split($states.input, /([0-9])/)", "a1b2c", ["a", "b", "c"]),
    ("split-limit", "$split($states.input, /-/, 2)", "a-b-c", ["a", "b"]),
    # $replace with a regex follows jsonata.js: $0, $n (as many digits as there are groups,
    # one fewer if that names no group), $$, and a backslash is only a backslash.
    (
        "replace-groups",
        "$replace($states.input, /(\\w+)\\s(\\w+)/, '$2, $1')",
        "John Smith",
        "Smith, John",
    ),
    ("replace-dollars", "$replace($states.input, /([0-9]+)USD/, '$$$1')", "265USD", "$265"),
    ("replace-whole", "$replace($states.input, /b/, '[$0]')", "abcb", "a[b]c[b]"),
    ("replace-missing-group", "$replace($states.input, /x/, '$12')", "x", "2"),
    ("replace-two-digits", "$replace($states.input, /(a)/, '$10')", "a", "a0"),
    ("replace-backslash", "$replace($states.input, /b/, '\\\\n')", "abc", "a\\nc"),
    ("replace-limit", "$replace($states.input, /a/, 'ba', 2)", "aba", "babba"),
    ("replace-limit-zero", "$replace($states.input, /a/, 'b', 0)", "aa", "aa"),
    (
        "replace-function",
        "$replace($states.input, /(b)/, function($m){ $uppercase($m.groups[0]) & $m.start })",
        "abcb",
        "aB1cB3",
    ),
    ("replace-string-pattern", "$replace($states.input, 'b', 'x')", "abcb", "axcx"),
]


@pytest.mark.parametrize(
    ("expression", "state_input", "expected"),
    [c[1:] for c in DIALECT],
    ids=[c[0] for c in DIALECT],
)
def test_dialect(expression: str, state_input: JSON, expected: JSON) -> None:
    assert evaluate(expression, state_input) == expected


def test_replace_function_must_return_a_string() -> None:
    error = failure("$replace('ab', /a/, function($m){ 1 })")
    assert error.cause == (
        "The JSONata expression '$replace('ab', /a/, function($m){ 1 })' specified for the field "
        "'Output' threw an error during evaluation: D3012: Attempted to replace a matched string "
        "with a non-string value"
    )


# -- refused features ---------------------------------------------------------------------------

_WHY = "regular expressions run on RE2 (linear time), which has no backreferences or lookaround"

REFUSED: list[tuple[str, str, str]] = [
    ("lookahead", "/a(?=b)/", "uses a lookahead assertion '(?='"),
    ("negative-lookahead", "/a(?!b)/", "uses a negative lookahead assertion '(?!'"),
    ("lookbehind", "/(?<=a)b/", "uses a lookbehind assertion '(?<='"),
    ("negative-lookbehind", "/(?<!a)b/", "uses a negative lookbehind assertion '(?<!'"),
    ("backreference", "/(a)\\1/", "uses a backreference '\\1'"),
    ("named-backreference", "/(?<x>a)\\k<x>/", "uses a backreference '\\k'"),
]


@pytest.mark.parametrize(
    ("literal", "feature"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_refused_literal_is_a_located_validation_error(literal: str, feature: str) -> None:
    definition: JSON = {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Pass",
                "Output": {
                    "ok": "{% 1 %}",
                    "found": "{% $contains($states.input, " + literal + ") %}",
                },
                "End": True,
            }
        },
    }
    diagnostics = list(iter_diagnostics(definition))
    assert [(d.code, d.location, d.message) for d in diagnostics] == [
        (
            "SCHEMA_VALIDATION_FAILED",
            "/States/P/Output/found",
            "The value of 'found' is invalid: the JSONata expression is not valid: The regular "
            f"expression {literal} {feature}, which is not supported: {_WHY}",
        )
    ]


@pytest.mark.parametrize(
    ("literal", "feature"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_refused_literal_fails_the_evaluation(literal: str, feature: str) -> None:
    # Compiling never refuses (a definition stored earlier still loads); using the regex fails.
    expression = f"$contains($states.input, {literal})"
    assert failure(expression, "ab").cause == output_cause(
        expression,
        f"The regular expression {literal} {feature}, which is not supported: {_WHY}",
    )


def test_pattern_re2_cannot_parse_names_re2() -> None:
    expression = "$contains($states.input, /a{2000}/)"
    assert failure(expression, "a").cause == output_cause(
        expression,
        "The regular expression /a{2000}/ is not supported by RE2: invalid repetition size: {2000}",
    )


def test_a_lone_surrogate_in_the_text_is_a_clear_error() -> None:
    expression = "$contains($states.input, /x/)"
    assert failure(expression, "\ud800x").cause == output_cause(
        expression,
        "The regular expression /x/ cannot search a text holding a lone "
        "surrogate (\\ud800 to \\udfff)",
    )


# -- the evaluation budget ------------------------------------------------------------------

RUNAWAY = "Expression evaluation timeout: Check for infinite loop"


@pytest.mark.timeout(30)
def test_a_loop_of_slow_steps_stops_at_the_time_budget() -> None:
    # Each iteration sums 100,000 numbers in one native call (a few evaluated nodes), so the
    # step budget alone would let this run for many minutes; the time budget stops it.
    expression = "($f := function($x){ ($sum($range(1, 100000, 1)); $f($x + 1)) }; $f(1))"
    assert failure(expression).cause == output_cause(expression, RUNAWAY)


def test_many_matches_count_against_the_budget() -> None:
    # 200,000 matches: each is a step, the call stops with the runaway cause, not after
    # building every match object.
    expression = "$count($match($states.input, /a/))"
    assert failure(expression, "a" * 1_200_000).cause == output_cause(expression, RUNAWAY)


def test_the_budget_is_per_evaluation() -> None:
    # A budget spent by one evaluation is not carried into the next one.
    loop = "($f := function($x){ $f($x + 1) }; $f(1))"
    for _ in range(3):
        assert failure(loop).cause.endswith(RUNAWAY)
        assert evaluate("$sum([1, 2, 3])") == 6
    assert 0 < EVALUATION_TIME_BUDGET <= 0.5


# -- the other matchers over user data --------------------------------------------------------
# StringMatches and the intrinsics never build a backtracking regex from user data: a `*` glob
# places its literal pieces leftmost-first (choice.py), StringSplit splits on a character class.
# These guard that: as regexes (`.*a.*a...c.*b`) they would take longer than the universe.


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("text", "expected"),
    [("a" * 100_000 + "b", False), ("a" * 100_000 + "cb", True)],
    ids=["no-match", "match"],
)
def test_string_matches_with_many_stars_is_linear(text: str, expected: bool) -> None:
    pattern = "*a" * 40 + "*c*b"
    rule = compile_choice_rule({"Variable": "$.v", "StringMatches": pattern})
    assert rule.matches({"v": text}, Scope()) is expected


@pytest.mark.timeout(20)
def test_string_split_is_linear() -> None:
    call = parse_intrinsic("States.ArrayLength(States.StringSplit($.s, '.*+?()'))")
    assert call.evaluate({"s": "a(" * 100_000}, Scope()) == 100_000


# -- agreement with Python's re on simple patterns ------------------------------------------

_ATOMS = st.sampled_from(["a", "b", "c", "1", ".", "[ab]", "[^a]", "[a-c]", "\\d", "\\w"])
Piece = tuple[str, bool]  # a pattern and whether it matches the empty string


def _pattern() -> st.SearchStrategy[str]:
    """Literals, classes, concatenation, alternation, groups and * + ? over a non-empty body.

    A quantifier over a body that can match empty is left out: there Python keeps the captures
    of an empty last iteration, which JavaScript and RE2 both discard.
    """

    def extend(inner: st.SearchStrategy[Piece]) -> st.SearchStrategy[Piece]:
        solid = inner.filter(lambda piece: not piece[1])
        return st.one_of(
            st.tuples(inner, inner).map(lambda t: (t[0][0] + t[1][0], t[0][1] and t[1][1])),
            st.tuples(inner, inner).map(lambda t: (f"{t[0][0]}|{t[1][0]}", t[0][1] or t[1][1])),
            inner.map(lambda piece: (f"({piece[0]})", piece[1])),
            st.tuples(solid, st.sampled_from(["*", "+", "?"])).map(
                lambda t: (f"({t[0][0]}){t[1]}", t[1] != "+")
            ),
        )

    atoms: st.SearchStrategy[Piece] = _ATOMS.map(lambda atom: (atom, False))
    return st.recursive(atoms, extend, max_leaves=6).map(lambda piece: piece[0])


def _js_matches(python: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """Python's matches, searching again one character after an empty match (JavaScript's
    rule, and RE2's; Python 3.7+ would first retry a non-empty match at the same place)."""
    found: list[re.Match[str]] = []
    position = 0
    while position <= len(text):
        match = python.search(text, position)
        if match is None:
            break
        found.append(match)
        position = match.end() + (1 if match.end() == match.start() else 0)
    return found


@settings(max_examples=300, deadline=None)
@given(
    pattern=_pattern(),
    text=st.text(alphabet="abc1A", max_size=12),
    ignore_case=st.booleans(),
)
def test_match_and_contains_agree_with_python_re(
    pattern: str, text: str, ignore_case: bool
) -> None:
    flags = "i" if ignore_case else ""
    python = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    expected: JSON = [
        {"match": m.group(), "index": m.start(), "groups": list(m.groups())}
        for m in _js_matches(python, text)
    ]
    literal = f"/{pattern}/{flags}"
    assert evaluate(f"[$match($states.input, {literal})]", text) == expected
    assert evaluate(f"$contains($states.input, {literal})", text) is (
        python.search(text) is not None
    )
