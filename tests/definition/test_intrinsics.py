"""Intrinsic functions: the parser, every States.* function, and AWS's results and causes.

Expected values marked "recorded" come from the conformance cases recorded against AWS
(../shared/conformance/cases/exec/localstack__intrinsic_functions__*.json).
"""

from __future__ import annotations

import random

import pytest

from engine.definition.intrinsic_functions import format_value, json_equal
from engine.definition.intrinsics import (
    INTRINSIC_ARITY,
    IntrinsicCall,
    Literal,
    PathArg,
    is_intrinsic,
    parse_intrinsic,
)
from engine.definition.paths import compile_path
from engine.definition.scope import Scope
from engine.errors import STATES_RUNTIME, ExpressionSyntaxError, StatesError
from engine.values import JSON

CONTEXT: JSON = {
    "Execution": {"Id": "arn:aws:states:us-east-1:1:execution:sm:ex", "Input": {"k": "v"}},
    "StateMachine": {"Name": "my-state-machine"},
}


def scope(seed: int = 7) -> Scope:
    return Scope(context=CONTEXT, variables={"var": {"field": [10, 20]}}, rng=random.Random(seed))


def evaluate(text: str, data: JSON = None, seed: int = 7) -> JSON:
    return parse_intrinsic(text).evaluate(data, scope(seed))


def failure(text: str, data: JSON = None) -> StatesError:
    with pytest.raises(StatesError) as info:
        evaluate(text, data)
    return info.value


def path(text: str) -> PathArg:
    return PathArg(text, compile_path(text))


# ---------------------------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('x')", True),
        ("States.UUID()", True),
        ("States.Format", False),
        ("$.States.Format(1)", False),
        ("states.Format('x')", False),
        ("", False),
    ],
    ids=["call", "no-args", "no-paren", "path", "lowercase", "empty"],
)
def test_is_intrinsic(text: str, expected: bool) -> None:
    assert is_intrinsic(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.UUID()", IntrinsicCall("States.UUID", ())),
        ("States.Array('a')", IntrinsicCall("States.Array", (Literal("a"),))),
        ("States.Array(1, -2, 1.5, -0.25, 1e3)", None),
        ("States.Array(true, false, null)", None),
        ("States.Array($)", IntrinsicCall("States.Array", (path("$"),))),
        (
            "States.Array($.a.b, $$.Execution.Id, $var, $var.field[1], $['x y'][0])",
            IntrinsicCall(
                "States.Array",
                (
                    path("$.a.b"),
                    path("$$.Execution.Id"),
                    path("$var"),
                    path("$var.field[1]"),
                    path("$['x y'][0]"),
                ),
            ),
        ),
        (
            "States.Array($.a[?(@.n > 1)], $..b, $.c[*])",
            IntrinsicCall("States.Array", (path("$.a[?(@.n > 1)]"), path("$..b"), path("$.c[*]"))),
        ),
        (
            "States.Array($['a,b'], $['c)d'])",
            IntrinsicCall("States.Array", (path("$['a,b']"), path("$['c)d']"))),
        ),
        (
            "States.ArrayLength(States.StringSplit($.s, ','))",
            IntrinsicCall(
                "States.ArrayLength",
                (IntrinsicCall("States.StringSplit", (path("$.s"), Literal(","))),),
            ),
        ),
    ],
    ids=[
        "no-args",
        "string",
        "numbers",
        "keywords",
        "root",
        "paths",
        "indefinite",
        "brackets",
        "nested",
    ],
)
def test_parse_tree(text: str, expected: IntrinsicCall | None) -> None:
    call = parse_intrinsic(text)
    if expected is not None:
        assert call == expected
    assert call.text == text


def test_parse_number_kinds() -> None:
    call = parse_intrinsic("States.Array(1, -2, 1.5, -0.25, 1e3, 0)")
    values = [arg.value for arg in call.args if isinstance(arg, Literal)]
    assert values == [1, -2, 1.5, -0.25, 1000.0, 0]
    assert [type(v) for v in values] == [int, int, float, float, float, int]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r"States.Array('it\'s')", "it's"),
        (r"States.Array('\{\}')", "{}"),
        (r"States.Array('back\\slash')", "back\\slash"),
        (r"States.Array('a, b) c')", "a, b) c"),
        ("States.Array('\"double\"')", '"double"'),
        ("States.Array('')", ""),
        ("States.Array('  padded  ')", "  padded  "),
    ],
    ids=["quote", "braces", "backslash", "comma-paren", "double-quotes", "empty", "spaces"],
)
def test_parse_string_escapes(text: str, value: str) -> None:
    assert parse_intrinsic(text).args == (Literal(value),)


def test_whitespace_between_arguments_is_ignored() -> None:
    spaced = parse_intrinsic("  States.Format( 'a{}b{}' ,\n\t$.x ,  States.UUID( )  )  ")
    tight = parse_intrinsic("States.Format('a{}b{}',$.x,States.UUID())")
    assert spaced == tight
    assert spaced.text == "States.Format( 'a{}b{}' ,\n\t$.x ,  States.UUID( )  )"


def test_nesting_deeply() -> None:
    text = "States.Array(" * 12 + "1" + ")" * 12
    value = evaluate(text)
    for _ in range(11):
        assert isinstance(value, list)
        value = value[0]
    assert value == [1]


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        (
            "States.Foo(1)",
            0,
            "Unknown intrinsic function 'States.Foo'; did you mean States.Format?",
        ),
        ("Format('x')", 0, "must start with 'States.'"),
        ("States.Array (1)", 12, "Expected '(' after States.Array"),
        ("States.Format(", 14, "Missing ')' to close States.Format("),
        ("States.Array(1", 14, "Missing ')' to close States.Array("),
        ("States.Format('abc)", 14, "Unterminated string: add the closing single quote"),
        (r"States.Array('a\"b')", 15, r"Only \', \{, \} and \\ may follow a backslash"),
        ("States.Array('a\\", 15, r"Only \', \{, \} and \\ may follow a backslash"),
        ("States.Array(1,)", 15, "Argument 2 of States.Array is empty"),
        ("States.Array(,1)", 13, "Argument 1 of States.Array is empty"),
        ("States.Array(1 2)", 15, "Expected ',' or ')' after argument 1 of States.Array"),
        ("States.Array(01)", 14, "Expected ',' or ')' after argument 1 of States.Array"),
        ("States.Array(abc)", 13, "Argument 1 of States.Array must be a 'string', a number"),
        ("States.Array(True)", 13, "Argument 1 of States.Array must be a 'string'"),
        ("States.Array(nullx)", 13, "Argument 1 of States.Array must be a 'string'"),
        ("States.Array(-)", 13, "Argument 1 of States.Array is not a valid number"),
        ("States.Array(1e999)", 13, "Number 1e999 in States.Array is out of range"),
        ("States.Array(1) x", 16, "Unexpected 'x' after the end of States.Array(...)"),
        ("States.Array(1))", 15, "Unexpected ')' after the end of States.Array(...)"),
        ("States.Array($.a b)", 13, "Invalid path '$.a b'"),
        ("States.MathAdd(1)", 0, "States.MathAdd takes exactly 2 arguments, but 1 was given"),
        ("States.UUID(1)", 0, "States.UUID takes exactly 0 arguments, but 1 was given"),
        ("States.Format()", 0, "States.Format takes at least 1 argument, but 0 were given"),
        ("States.MathRandom(1)", 0, "States.MathRandom takes 2 to 3 arguments, but 1 was given"),
        (
            "States.Array(States.ArrayRange(1, 2))",
            13,
            "States.ArrayRange takes exactly 3 arguments, but 2 were given",
        ),
        ("States.Array(States.Nope())", 13, "Unknown intrinsic function 'States.Nope'"),
        ("States.Array(" * 60 + ")" * 60, 650, "Intrinsic calls nest more than 50 deep"),
    ],
    ids=[
        "unknown",
        "no-prefix",
        "space-before-paren",
        "unclosed",
        "unclosed-after-arg",
        "unterminated-string",
        "illegal-escape",
        "dangling-backslash",
        "trailing-comma",
        "leading-comma",
        "missing-comma",
        "leading-zero",
        "bare-word",
        "capital-keyword",
        "keyword-prefix",
        "lone-minus",
        "huge-float",
        "trailing-text",
        "extra-paren",
        "bad-path",
        "arity-exact",
        "arity-none",
        "arity-min",
        "arity-range",
        "nested-arity",
        "nested-unknown",
        "too-deep",
    ],
)
def test_parse_errors(text: str, position: int, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse_intrinsic(text)
    assert info.value.position == position
    assert info.value.message.startswith(
        f"Invalid intrinsic function call at position {position}: "
    )
    assert message in info.value.message


def test_arity_table_covers_the_18_functions() -> None:
    assert dict(INTRINSIC_ARITY) == {
        "States.Format": (1, None),
        "States.StringToJson": (1, 1),
        "States.JsonToString": (1, 1),
        "States.Array": (0, None),
        "States.ArrayPartition": (2, 2),
        "States.ArrayContains": (2, 2),
        "States.ArrayRange": (3, 3),
        "States.ArrayGetItem": (2, 2),
        "States.ArrayLength": (1, 1),
        "States.ArrayUnique": (1, 1),
        "States.Base64Encode": (1, 1),
        "States.Base64Decode": (1, 1),
        "States.Hash": (2, 2),
        "States.JsonMerge": (3, 3),
        "States.MathRandom": (2, 3),
        "States.MathAdd": (2, 2),
        "States.StringSplit": (2, 2),
        "States.UUID": (0, 0),
    }


# ---------------------------------------------------------------------------------------------
# Functions: results
# ---------------------------------------------------------------------------------------------

RESULTS: list[tuple[str, str, JSON, JSON]] = [
    # States.Format (recorded: test_format_1, test_format_2, test_state_fail_intrinsic)
    (
        "format-empty",
        "States.Format('Formatting argument {}.', $.v)",
        {"v": ""},
        "Formatting argument .",
    ),
    (
        "format-null",
        "States.Format('Formatting argument {}.', $.v)",
        {"v": None},
        "Formatting argument null.",
    ),
    (
        "format-int",
        "States.Format('fst={} and snd={}.', $.a, $.b)",
        {"a": 1, "b": 1},
        "fst=1 and snd=1.",
    ),
    (
        "format-float",
        "States.Format('fst={} and snd={}.', $.a, $.b)",
        {"a": 1.1, "b": 1.1},
        "fst=1.1 and snd=1.1.",
    ),
    (
        "format-json-text",
        "States.Format('{}', $.a)",
        {"a": '{"Arg1": 1, "Arg2": []}'},
        '{"Arg1": 1, "Arg2": []}',
    ),
    (
        "format-object",
        "States.Format('fst={}.', $.a)",
        {"a": {"Arg1": 1, "Arg2": []}},
        "fst={Arg1=1, Arg2=[]}.",
    ),
    (
        "format-nested-containers",
        "States.Format('{}', $.a)",
        {"a": [1, "x", None, True, {"k": [1.5]}]},
        "[1, x, null, true, {k=[1.5]}]",
    ),
    ("format-booleans", "States.Format('{}|{}', true, false)", None, "true|false"),
    ("format-whole-float", "States.Format('{}', 2.0)", None, "2.0"),
    ("format-big-float", "States.Format('{}', 1e20)", None, "1.0E20"),
    ("format-literals", "States.Format('{} xyz {}', 1, 'def')", None, "1 xyz def"),
    ("format-no-placeholders", "States.Format('plain')", None, "plain"),
    ("format-escaped-braces", r"States.Format('\{\} {}', 'x')", None, "{} x"),
    ("format-escaped-quote", r"States.Format('it\'s {}', 'x')", None, "it's x"),
    (
        "format-path-template",
        "States.Format($.t, $.n)",
        {"t": "Hello, {}!", "n": "Arnav"},
        "Hello, Arnav!",
    ),
    (
        "format-variable",
        "States.Format('Format Func {}', $var.field)",
        None,
        "Format Func [10, 20]",
    ),
    ("format-context", "States.Format('{}', $$.StateMachine.Name)", None, "my-state-machine"),
    ("format-nested", "States.Format('{}', States.JsonToString($.o))", {"o": {"k": 1}}, '{"k":1}'),
    # States.StringToJson (recorded: test_string_to_json)
    ("to-json-null", "States.StringToJson($.s)", {"s": "null"}, None),
    ("to-json-int", "States.StringToJson($.s)", {"s": "1"}, 1),
    ("to-json-float", "States.StringToJson($.s)", {"s": "1.1"}, 1.1),
    ("to-json-true", "States.StringToJson($.s)", {"s": "true"}, True),
    ("to-json-object", "States.StringToJson($.s)", {"s": '{"foo": "bar"}'}, {"foo": "bar"}),
    ("to-json-literal", """States.StringToJson('{"a": [1, "x"]}')""", None, {"a": [1, "x"]}),
    # States.JsonToString (recorded: test_json_to_string)
    ("to-string-null", "States.JsonToString($.v)", {"v": None}, "null"),
    ("to-string-zero", "States.JsonToString($.v)", {"v": 0}, "0"),
    ("to-string-float", "States.JsonToString($.v)", {"v": 1.1}, "1.1"),
    ("to-string-string", "States.JsonToString($.v)", {"v": "HelloWorld"}, '"HelloWorld"'),
    (
        "to-string-array",
        "States.JsonToString($.v)",
        {"v": [1, 2, "HelloWorld"]},
        '[1,2,"HelloWorld"]',
    ),
    (
        "to-string-object",
        "States.JsonToString($.v)",
        {"v": {"Arg1": 1, "Arg2": []}},
        '{"Arg1":1,"Arg2":[]}',
    ),
    ("to-string-unicode", "States.JsonToString($.v)", {"v": "é"}, '"é"'),
    # States.Array (recorded: test_array_2)
    ("array-none", "States.Array()", None, []),
    ("array-paths", "States.Array($.a, $.b)", {"a": None, "b": 1.1}, [None, 1.1]),
    (
        "array-mixed",
        "States.Array('Foo', 2020, $.j, null)",
        {"j": {"r": "x"}},
        ["Foo", 2020, {"r": "x"}, None],
    ),
    # States.ArrayPartition (recorded: test_array_partition)
    ("partition-even", "States.ArrayPartition($.a, 2)", {"a": [0, 1, 2, 3]}, [[0, 1], [2, 3]]),
    ("partition-ones", "States.ArrayPartition($.a, 1)", {"a": [0, 1, 2, 3]}, [[0], [1], [2], [3]]),
    (
        "partition-short-tail",
        "States.ArrayPartition($.a, 4)",
        {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
        [[1, 2, 3, 4], [5, 6, 7, 8], [9]],
    ),
    ("partition-bigger-chunk", "States.ArrayPartition($.a, 5)", {"a": [0, 1, 2]}, [[0, 1, 2]]),
    ("partition-empty", "States.ArrayPartition($.a, 5)", {"a": []}, []),
    ("partition-float-size", "States.ArrayPartition($.a, 2.9)", {"a": [0, 1, 2]}, [[0, 1], [2]]),
    # States.ArrayContains (recorded: test_array_contains)
    (
        "contains-array-element",
        "States.ArrayContains($.a, $.v)",
        {"a": [[1, 2, 3], 2], "v": [1, 2, 3]},
        True,
    ),
    (
        "contains-null-absent",
        "States.ArrayContains($.a, $.v)",
        {"a": [[1, 2, 3], 2], "v": None},
        False,
    ),
    ("contains-false", "States.ArrayContains($.a, $.v)", {"a": [True, False], "v": False}, True),
    ("contains-number", "States.ArrayContains($.a, 5)", {"a": [1, 5]}, True),
    ("contains-bool-is-not-number", "States.ArrayContains($.a, 1)", {"a": [True]}, False),
    (
        "contains-object-key-order",
        "States.ArrayContains($.a, $.v)",
        {"a": [{"x": 1, "y": 2}], "v": {"y": 2, "x": 1}},
        True,
    ),
    ("contains-empty", "States.ArrayContains($.a, null)", {"a": []}, False),
    # States.ArrayRange (recorded: test_array_range)
    ("range-step-3", "States.ArrayRange(0, 9, 3)", None, [0, 3, 6, 9]),
    ("range-overshoot", "States.ArrayRange(0, 10, 3)", None, [0, 3, 6, 9]),
    ("range-single", "States.ArrayRange(1, 9, 9)", None, [1]),
    ("range-odd", "States.ArrayRange(1, 9, 2)", None, [1, 3, 5, 7, 9]),
    ("range-descending", "States.ArrayRange(5, 1, -2)", None, [5, 3, 1]),
    ("range-equal-bounds", "States.ArrayRange(3, 3, -1)", None, [3]),
    ("range-wrong-direction", "States.ArrayRange(5, 1, 1)", None, []),
    ("range-truncates", "States.ArrayRange(5.4, -0.6, -2.4)", None, [5, 3, 1]),
    ("range-paths", "States.ArrayRange($.a, $.b, $.c)", {"a": 0, "b": 3, "c": 1}, [0, 1, 2, 3]),
    # States.ArrayGetItem
    ("get-item", "States.ArrayGetItem($.a, $.i)", {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9], "i": 5}, 6),
    ("get-item-first", "States.ArrayGetItem($.a, 0)", {"a": [{"k": 1}]}, {"k": 1}),
    ("get-item-float-index", "States.ArrayGetItem($.a, 1.9)", {"a": ["x", "y", "z"]}, "y"),
    # States.ArrayLength (recorded: test_array_length, test_array_unique)
    ("length", "States.ArrayLength($.a)", {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]}, 9),
    ("length-empty", "States.ArrayLength($)", [], 0),
    # States.ArrayUnique
    ("unique", "States.ArrayUnique($.a)", {"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]}, [1, 2, 3, 4]),
    (
        "unique-mixed",
        "States.ArrayUnique($.a)",
        {
            "a": [
                None,
                None,
                True,
                True,
                1,
                1,
                1.0,
                "1",
                [],
                [],
                [None],
                {"a": 1, "b": 2},
                {"b": 2, "a": 1},
                {"a": 1, "b": 1},
            ]
        },
        [None, True, 1, 1.0, "1", [], [None], {"a": 1, "b": 2}, {"a": 1, "b": 1}],
    ),
    # States.Base64Encode / Base64Decode (AWS docs examples)
    ("b64-encode", "States.Base64Encode($.s)", {"s": "Data to encode"}, "RGF0YSB0byBlbmNvZGU="),
    ("b64-encode-empty", "States.Base64Encode('')", None, ""),
    ("b64-encode-unicode", "States.Base64Encode('é')", None, "w6k="),
    ("b64-decode", "States.Base64Decode($.s)", {"s": "SGVsbG8gV29ybGQ="}, "Hello World"),
    ("b64-decode-unicode", "States.Base64Decode('w6k=')", None, "é"),
    # States.Hash (recorded: test_hash)
    (
        "hash-md5",
        "States.Hash($.d, 'MD5')",
        {"d": "input data"},
        "812f45842bc6d66ee14572ce20db8e86",
    ),
    (
        "hash-sha1",
        "States.Hash($.d, 'SHA-1')",
        {"d": "input data"},
        "aaff4a450a104cd177d28d18d74485e8cae074b7",
    ),
    (
        "hash-sha256",
        "States.Hash('input data', 'SHA-256')",
        None,
        "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
    ),
    (
        "hash-sha384",
        "States.Hash($.d, $.a)",
        {"d": "input data", "a": "SHA-384"},
        "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
    ),
    (
        "hash-sha512",
        "States.Hash('', 'SHA-512')",
        None,
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
        "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
    ),
    # States.JsonMerge (recorded: test_json_merge_escaped_argument; AWS docs example)
    (
        "merge-shallow",
        "States.JsonMerge($.a, $.b, false)",
        {"a": {"a": {"a1": 1, "a2": 2}, "b": 2}, "b": {"a": {"a3": 1, "a4": 2}, "c": 3}},
        {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3},
    ),
    (
        "merge-escaped-literal",
        """States.JsonMerge(States.StringToJson('{"constant_in_literal": "false"}'), """
        "$$.Execution.Input, false)",
        None,
        {"constant_in_literal": "false", "k": "v"},
    ),
    # States.MathAdd (recorded: test_math_add; Java Math.round on each operand)
    ("add-ints", "States.MathAdd($.a, $.b)", {"a": 111, "b": -1}, 110),
    ("add-negative", "States.MathAdd(-9, 3)", None, -6),
    ("add-half-up", "States.MathAdd(0.5, 0)", None, 1),
    ("add-2.5", "States.MathAdd(2.5, 0)", None, 3),
    ("add-3.5", "States.MathAdd(3.5, 0)", None, 4),
    ("add-minus-half-plus-half", "States.MathAdd(-0.5, 0.5)", None, 1),
    ("add-minus-1.5", "States.MathAdd(-1.5, 0)", None, -1),
    ("add-minus-2.5", "States.MathAdd(-2.5, 0)", None, -2),
    ("add-minus-1.49", "States.MathAdd(-1.49, 0)", None, -1),
    ("add-nested", "States.MathAdd(States.MathAdd(1, 2), States.ArrayLength($.a))", {"a": [1]}, 4),
    # States.StringSplit (recorded: test_string_split, test_string_split_context_object)
    ("split-spaces", "States.StringSplit($.s, $.d)", {"s": " , ", "d": ","}, [" ", " "]),
    ("split-all-delimiters", "States.StringSplit($.s, $.d)", {"s": ",,,,", "d": ","}, []),
    ("split-csv", "States.StringSplit($.s, ',')", {"s": "1,2,3,4,5"}, ["1", "2", "3", "4", "5"]),
    (
        "split-char-set",
        "States.StringSplit($.s, $.d)",
        {"s": "This.is+a,test=string", "d": ".+,="},
        ["This", "is", "a", "test", "string"],
    ),
    (
        "split-newline",
        "States.StringSplit($.s, $.d)",
        {"s": "split on T and \nnew line", "d": "T\n"},
        ["split on ", " and ", "new line"],
    ),
    (
        "split-keeps-whitespace",
        "States.StringSplit($.s, ',')",
        {"s": "Value6\n,,,\ntrue,'x'\n,\n   \n"},
        ["Value6\n", "\ntrue", "'x'\n", "\n   \n"],
    ),
    ("split-no-delimiter", "States.StringSplit('abc', '')", None, ["abc"]),
    ("split-empty", "States.StringSplit('', ',')", None, []),
    ("split-regex-chars", "States.StringSplit('a]b^c\\\\d', ']^\\\\')", None, ["a", "b", "c", "d"]),
    # Nested calls (recorded: test_nested_calls_2)
    (
        "nested-last-part",
        "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), "
        "States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))",
        None,
        "machine",
    ),
]


@pytest.mark.parametrize(
    ("text", "data", "expected"),
    [case[1:] for case in RESULTS],
    ids=[case[0] for case in RESULTS],
)
def test_results(text: str, data: JSON, expected: JSON) -> None:
    result = evaluate(text, data)
    assert result == expected
    assert type(result) is type(expected)


def test_format_template_from_data_counts_every_placeholder() -> None:
    # Escapes belong to the intrinsic string syntax: a template read from the input has none.
    assert failure("States.Format($.t, 1)", {"t": "{}{}"}).cause.endswith(
        "Invalid arguments in States.Format"
    )


# ---------------------------------------------------------------------------------------------
# Functions: failures (States.Runtime; the interpreter adds the "An error occurred..." prefix)
# ---------------------------------------------------------------------------------------------

ERRORS: list[tuple[str, str, JSON, str]] = [
    (
        "path-missing",
        "States.Format('{}', $.nope)",
        {"other": 1},
        "The JsonPath argument for the field '$.nope' could not be found in the input "
        """'{"other":1}'""",
    ),
    (
        "path-missing-nested-names-whole-call",
        "States.Format('{}', States.Format('{}', $.nope))",
        {"other": 1},
        "The JsonPath argument for the field '$.nope' could not be found in the input "
        """'{"other":1}'""",
    ),
    (
        "path-index-out-of-range",
        "States.Format('{}', $.items[5])",
        {"items": [1, 2]},
        "The JsonPath argument for the field '$.items[5]' could not be found in the input "
        """'{"items":[1,2]}'""",
    ),
    (
        "context-path-missing",
        "States.Format('{}', $$.Nope.Deep)",
        {"other": 1},
        "The JsonPath argument for the field '$.Nope.Deep' could not be found in the input "
        """'{"other":1}'""",
    ),
    (
        "variable-missing",
        "States.Array($nope)",
        {},
        "The JsonPath argument for the field '$nope' could not be found in the input '{}'",
    ),
    ("format-too-few", "States.Format('{} {}', 'x')", None, "Invalid arguments in States.Format"),
    (
        "format-too-many",
        "States.Format('{}', 'x', 'y')",
        None,
        "Invalid arguments in States.Format",
    ),
    (
        "format-lone-open",
        "States.Format('Hello {', 'x')",
        None,
        "Invalid arguments in States.Format",
    ),
    ("format-lone-close", "States.Format('}')", None, "Invalid arguments in States.Format"),
    (
        "format-doubled",
        "States.Format('Hello {{}}', 'x')",
        None,
        "Invalid arguments in States.Format",
    ),
    (
        "format-half-escaped",
        r"States.Format('\{}', 'x')",
        None,
        "Invalid arguments in States.Format",
    ),
    (
        "format-template-number",
        "States.Format($.t, 'x')",
        {"t": 123},
        "Invalid arguments in States.Format",
    ),
    (
        "to-json-number",
        "States.StringToJson($.s)",
        {"s": 1},
        "Invalid arguments in States.StringToJson",
    ),
    (
        "to-json-malformed",
        "States.StringToJson($.s)",
        {"s": "{"},
        "Invalid arguments in States.StringToJson",
    ),
    ("to-json-nan", "States.StringToJson('NaN')", None, "Invalid arguments in States.StringToJson"),
    (
        "partition-not-array",
        "States.ArrayPartition($.a, 2)",
        {"a": "abc"},
        "Invalid arguments in States.ArrayPartition",
    ),
    (
        "partition-zero",
        "States.ArrayPartition($.a, 0)",
        {"a": [1]},
        "Invalid arguments in States.ArrayPartition",
    ),
    (
        "partition-truncates-to-zero",
        "States.ArrayPartition($.a, 0.49)",
        {"a": [1]},
        "Invalid arguments in States.ArrayPartition",
    ),
    (
        "partition-negative",
        "States.ArrayPartition($.a, -1)",
        {"a": [1]},
        "Invalid arguments in States.ArrayPartition",
    ),
    (
        "partition-string-size",
        "States.ArrayPartition($.a, '2')",
        {"a": [1]},
        "Invalid arguments in States.ArrayPartition",
    ),
    (
        "contains-not-array",
        "States.ArrayContains($.a, 1)",
        {"a": {"x": 1}},
        "Invalid arguments in States.ArrayContains",
    ),
    (
        "range-string",
        "States.ArrayRange('a', 5, 1)",
        None,
        "Invalid arguments in States.ArrayRange",
    ),
    ("range-bool", "States.ArrayRange(1, true, 1)", None, "Invalid arguments in States.ArrayRange"),
    (
        "range-zero-step",
        "States.ArrayRange(1, 10, 0)",
        None,
        "Invalid arguments in States.ArrayRange",
    ),
    (
        "range-step-truncates-to-zero",
        "States.ArrayRange(1, 10, 0.49)",
        None,
        "Invalid arguments in States.ArrayRange",
    ),
    (
        "range-1001-items",
        "States.ArrayRange(1, 1001, 1)",
        None,
        "Invalid arguments in States.ArrayRange",
    ),
    (
        "range-1001-descending",
        "States.ArrayRange(1001, 1, -1)",
        None,
        "Invalid arguments in States.ArrayRange",
    ),
    (
        "range-huge",
        "States.ArrayRange(0, 1e300, 1)",
        None,
        "Invalid arguments in States.ArrayRange",
    ),
    (
        "get-item-out-of-range",
        "States.ArrayGetItem($.a, 3)",
        {"a": [1, 2, 3]},
        "Invalid arguments in States.ArrayGetItem",
    ),
    (
        "get-item-negative",
        "States.ArrayGetItem($.a, -1)",
        {"a": [1, 2, 3]},
        "Invalid arguments in States.ArrayGetItem",
    ),
    (
        "get-item-string-index",
        "States.ArrayGetItem($.a, '0')",
        {"a": [1]},
        "Invalid arguments in States.ArrayGetItem",
    ),
    (
        "get-item-not-array",
        "States.ArrayGetItem($.a, 0)",
        {"a": "abc"},
        "Invalid arguments in States.ArrayGetItem",
    ),
    (
        "length-not-array",
        "States.ArrayLength($.a)",
        {"a": "abc"},
        "Invalid arguments in States.ArrayLength",
    ),
    (
        "unique-not-array",
        "States.ArrayUnique($.a)",
        {"a": None},
        "Invalid arguments in States.ArrayUnique",
    ),
    (
        "b64-encode-number",
        "States.Base64Encode($.a)",
        {"a": 1},
        "Invalid arguments in States.Base64Encode",
    ),
    (
        "b64-encode-too-long",
        "States.Base64Encode($.a)",
        {"a": "x" * 10_001},
        "Invalid arguments in States.Base64Encode",
    ),
    (
        "b64-decode-malformed",
        "States.Base64Decode('abc')",
        None,
        "Invalid arguments in States.Base64Decode",
    ),
    (
        "b64-decode-bad-chars",
        "States.Base64Decode('ab!=')",
        None,
        "Invalid arguments in States.Base64Decode",
    ),
    (
        "b64-decode-non-ascii",
        "States.Base64Decode('é')",
        None,
        "Invalid arguments in States.Base64Decode",
    ),
    (
        "b64-decode-too-long",
        "States.Base64Decode($.a)",
        {"a": "A" * 10_004},
        "Invalid arguments in States.Base64Decode",
    ),
    (
        "hash-unknown-algorithm",
        "States.Hash('x', 'SHA-3')",
        None,
        "Invalid arguments in States.Hash",
    ),
    (
        "hash-lowercase-algorithm",
        "States.Hash('x', 'md5')",
        None,
        "Invalid arguments in States.Hash",
    ),
    ("hash-number", "States.Hash(1, 'MD5')", None, "Invalid arguments in States.Hash"),
    (
        "hash-too-long",
        "States.Hash($.a, 'MD5')",
        {"a": "x" * 10_001},
        "Invalid arguments in States.Hash",
    ),
    (
        "merge-deep",
        "States.JsonMerge($.a, $.a, true)",
        {"a": {}},
        "Invalid arguments in States.JsonMerge",
    ),
    (
        "merge-flag-not-bool",
        "States.JsonMerge($.a, $.a, 0)",
        {"a": {}},
        "Invalid arguments in States.JsonMerge",
    ),
    (
        "merge-not-object",
        "States.JsonMerge($.a, $.b, false)",
        {"a": {}, "b": [1]},
        "Invalid arguments in States.JsonMerge",
    ),
    (
        "random-empty-interval",
        "States.MathRandom(5, 5)",
        None,
        "Invalid arguments in States.MathRandom",
    ),
    (
        "random-truncated-empty",
        "States.MathRandom(1.4, 1.6)",
        None,
        "Invalid arguments in States.MathRandom",
    ),
    ("random-string", "States.MathRandom('1', 5)", None, "Invalid arguments in States.MathRandom"),
    (
        "random-seed-string",
        "States.MathRandom(1, 5, 'x')",
        None,
        "Invalid arguments in States.MathRandom",
    ),
    (
        "add-string",
        "States.MathAdd($.a, $.b)",
        {"a": 1, "b": "NOT A NUMBER"},
        "Invalid arguments in States.MathAdd",
    ),
    ("add-bool", "States.MathAdd(true, 1)", None, "Invalid arguments in States.MathAdd"),
    ("add-null", "States.MathAdd(null, 1)", None, "Invalid arguments in States.MathAdd"),
    (
        "split-number",
        "States.StringSplit($.a, ',')",
        {"a": 1},
        "Invalid arguments in States.StringSplit",
    ),
    (
        "split-delimiter-number",
        "States.StringSplit('a', 1)",
        None,
        "Invalid arguments in States.StringSplit",
    ),
]


@pytest.mark.parametrize(
    ("text", "data", "detail"),
    [case[1:] for case in ERRORS],
    ids=[case[0] for case in ERRORS],
)
def test_errors(text: str, data: JSON, detail: str) -> None:
    error = failure(text, data)
    assert error.error == STATES_RUNTIME
    assert error.cause == f"The function '{text}' had the following error: {detail}"


def test_cause_quotes_the_call_as_written() -> None:
    text = "  States.Format('{}',$.nope)  "
    assert failure(text, {}).cause == (
        "The function 'States.Format('{}',$.nope)' had the following error: "
        "The JsonPath argument for the field '$.nope' could not be found in the input '{}'"
    )


def test_explicit_null_argument_is_not_missing() -> None:
    assert evaluate("States.Format('{}', $.nul)", {"nul": None}) == "null"


def test_range_limit_is_inclusive_at_1000() -> None:
    ascending = evaluate("States.ArrayRange(1, 1000, 1)")
    descending = evaluate("States.ArrayRange(1000, 1, -1)")
    assert ascending == list(range(1, 1001))
    assert descending == list(range(1000, 0, -1))


def test_base64_limit_is_inclusive_at_10000() -> None:
    assert evaluate("States.Base64Encode($.s)", {"s": "x" * 10_000}) == "eHh4" * 3333 + "eA=="


# ---------------------------------------------------------------------------------------------
# Randomness: MathRandom and UUID draw from scope.rng, so a seeded execution reproduces
# ---------------------------------------------------------------------------------------------


def test_math_random_uses_the_scope_rng() -> None:
    first = [evaluate("States.MathRandom(12.5, 44.51)", seed=3) for _ in range(3)]
    assert first == [evaluate("States.MathRandom(12, 44)", seed=3) for _ in range(3)]
    assert first == [random.Random(3).randrange(12, 44)] * 3


def test_math_random_stays_in_range() -> None:
    call = parse_intrinsic("States.MathRandom(-3, 3)")
    values = {call.evaluate(None, scope(seed)) for seed in range(200)}
    assert values == {-3, -2, -1, 0, 1, 2}


def test_math_random_seed_argument_gives_the_same_number() -> None:
    seeded = [evaluate("States.MathRandom(0, 999, 3)", seed=s) for s in range(5)]
    assert len(set(seeded)) == 1
    assert seeded[0] == random.Random(3).randrange(0, 999)


def test_uuid_is_v4_and_reproducible() -> None:
    call = parse_intrinsic("States.UUID()")
    first = call.evaluate(None, scope(11))
    assert first == call.evaluate(None, scope(11))
    assert first != call.evaluate(None, scope(12))
    assert isinstance(first, str)
    assert len(first) == 36
    assert first[14] == "4"
    assert first[19] in "89ab"


# ---------------------------------------------------------------------------------------------
# Helpers shared with other modules
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (0, "0"),
        (-7, "-7"),
        (1.5, "1.5"),
        (-0.0, "-0.0"),
        (1e7, "1.0E7"),
        (1.5e-5, "1.5E-5"),
        (123456789.125, "1.23456789125E8"),
        ("s", "s"),
        ([], "[]"),
        ({"a": {"b": None}}, "{a={b=null}}"),
    ],
    ids=[
        "null",
        "true",
        "zero",
        "negative",
        "float",
        "negative-zero",
        "1e7",
        "small",
        "large",
        "string",
        "empty-list",
        "nested-object",
    ],
)
def test_format_value(value: JSON, text: str) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (1, 1, True),
        (1, 1.0, False),
        (True, 1, False),
        (None, None, True),
        ({"a": 1, "b": [1]}, {"b": [1], "a": 1}, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ([1, 2], [2, 1], False),
        ("a", "a", True),
    ],
    ids=["ints", "int-float", "bool-int", "nulls", "key-order", "extra-key", "order", "strings"],
)
def test_json_equal(left: JSON, right: JSON, equal: bool) -> None:
    assert json_equal(left, right) is equal


def test_hand_built_call_takes_its_function_from_the_table() -> None:
    call = IntrinsicCall("States.MathAdd", (Literal(1), Literal(2.5)))
    assert call.evaluate(None, scope()) == 4
    assert call == parse_intrinsic("States.MathAdd(1, 2.5)")
    with pytest.raises(ValueError, match=r"Unknown intrinsic function 'States\.Nope'"):
        IntrinsicCall("States.Nope", ())
