"""ASL intrinsic function calls (`States.Format('{}', $.a)`): parse once, evaluate many times.

Owns: the intrinsic call grammar, the compiled call tree (`IntrinsicCall` and its argument
nodes), static arity checks, and turning a runtime failure into AWS's `States.Runtime` cause.
The functions themselves live in intrinsic_functions.py. Must never: parse text while an
execution runs, mutate the data it reads, or know which ASL field the call came from.

Grammar (AWS developer guide, "Intrinsic functions"; "Reserved characters"):

    call      := 'States.' NAME '(' [ arg ( ',' arg )* ] ')'      whitespace allowed around args
    arg       := string | number | 'true' | 'false' | 'null' | path | call
    string    := "'" ( char | '\\'' | '\\{' | '\\}' | '\\\\' )* "'"   (no other backslash escapes)
    number    := '-'? digits ( '.' digits )? ( [eE] [+-]? digits )?
    path      := '$' ...   ($, $.a, $$.Execution.Id, $var.x, brackets, filters), up to the next
                 top-level ',' or ')'; compiled by engine.definition.paths

A definition with an illegal escape (`'\\"'`) is rejected by AWS at creation
(validate case localstack/create/illegal-escapes/ESCAPE_SEQUENCES_ILLEGAL_INTRINSIC_FUNCTION).

Runtime failures are `StatesError(States.Runtime, "The function '<whole call as written>' had
the following error: <detail>")`; an argument path that selects nothing gives the detail
"The JsonPath argument for the field '<path>' could not be found in the input '<input>'" (causes
captured from AWS by the floci project's tests). The interpreter adds AWS's "An error occurred
while executing the state ..." prefix.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import partial
from typing import TypeAlias

from engine.definition.intrinsic_functions import (
    FUNCTIONS,
    INTRINSIC_ARITY,
    FormatTemplate,
    Function,
    IntrinsicFault,
    compile_format_template,
    render_format,
)
from engine.definition.paths import Path, PathNoMatch, compile_path
from engine.definition.scope import Scope
from engine.errors import STATES_RUNTIME, ExpressionSyntaxError, StatesError
from engine.values import JSON, dumps

__all__ = [
    "INTRINSIC_ARITY",
    "Arg",
    "IntrinsicCall",
    "Literal",
    "PathArg",
    "is_intrinsic",
    "parse_intrinsic",
]


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal argument: a string, number, boolean or null written in the call."""

    value: JSON

    def resolve(self, data: JSON, scope: Scope) -> JSON:
        return self.value


@dataclass(frozen=True, slots=True)
class PathArg:
    """A path argument (`$.a`, `$$.Execution.Id`, `$var`), compiled once at parse time."""

    text: str
    path: Path = field(compare=False, repr=False)

    def resolve(self, data: JSON, scope: Scope) -> JSON:
        try:
            return self.path.find(data, scope)
        except PathNoMatch:
            # AWS names a context path as if rooted at the input ($$.A -> $.A) and shows the
            # state input either way (floci's AWS-captured causes, Step Functions Local alike).
            shown = self.text[1:] if self.text.startswith("$$") else self.text
            raise IntrinsicFault(
                f"The JsonPath argument for the field '{shown}' could not be found in the "
                f"input '{dumps(data)}'"
            ) from None


def _unset(args: list[JSON], scope: Scope) -> JSON:
    """Placeholder default of `IntrinsicCall._function`, replaced in `__post_init__`."""
    raise AssertionError("IntrinsicCall built without its function")


@dataclass(frozen=True, slots=True)
class IntrinsicCall:
    """A compiled intrinsic call: a tree of calls, literals and paths.

    `text` is the call as written (AWS quotes it in causes). Results may share structure with
    the evaluated data (States.Array returns the very values its paths select): treat JSON
    values as immutable, as every engine layer does.
    """

    name: str
    args: tuple[Arg, ...]
    text: str = field(default="", compare=False, repr=False)
    _function: Function = field(default=_unset, compare=False, repr=False)

    def __post_init__(self) -> None:
        # A call built by hand (tests, tools) gets its function from the table; the parser
        # passes it in, specialised when a States.Format template was parsed ahead of time.
        if self._function is _unset:
            if self.name not in FUNCTIONS:
                raise ValueError(f"Unknown intrinsic function {self.name!r}")
            object.__setattr__(self, "_function", FUNCTIONS[self.name][0])
        if not self.text:
            object.__setattr__(self, "text", f"{self.name}(...)")

    def evaluate(self, data: JSON, scope: Scope) -> JSON:
        """The call's value on `data`; raises `StatesError(States.Runtime, cause)` on failure."""
        try:
            return self._function([arg.resolve(data, scope) for arg in self.args], scope)
        except IntrinsicFault as fault:
            raise StatesError(
                STATES_RUNTIME,
                f"The function '{self.text}' had the following error: {fault.detail}",
            ) from None

    def resolve(self, data: JSON, scope: Scope) -> JSON:
        """Evaluate as an argument of an enclosing call (the outermost call words the error)."""
        return self._function([arg.resolve(data, scope) for arg in self.args], scope)


Arg: TypeAlias = Literal | PathArg | IntrinsicCall


def is_intrinsic(text: str) -> bool:
    """Whether `text` looks like an intrinsic call (starts `States.` and has a `(`)."""
    return text.startswith("States.") and "(" in text


def parse_intrinsic(text: str) -> IntrinsicCall:
    """Compile an intrinsic call; raises `ExpressionSyntaxError` (with a position) if malformed.

    Checked here: the grammar, string escapes, that every function exists, the number of
    arguments, and every path argument. Types and values are checked when the call runs, as
    AWS does.
    """
    if not isinstance(text, str):
        raise ExpressionSyntaxError("An intrinsic function call must be a string.", 0)
    parser = _Parser(text)
    parser.skip_space()
    if not text.startswith("States.", parser.pos):
        raise parser.error(
            "An intrinsic function call must start with 'States.', as in States.Format('{}', $.a)"
        )
    call = parser.call()
    parser.skip_space()
    if parser.pos != len(text):
        raise parser.error(
            f"Unexpected {text[parser.pos]!r} after the end of {call.name}(...); "
            "remove it or move it inside the parentheses"
        )
    return call


# ---------------------------------------------------------------------------------------------
# The parser: recursive descent over the text, positions kept for every error
# ---------------------------------------------------------------------------------------------

_NAME = re.compile(r"States\.([A-Za-z0-9_]*)")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_KEYWORDS: dict[str, JSON] = {"true": True, "false": False, "null": None}
_KEYWORD = re.compile(r"(true|false|null)(?![A-Za-z0-9_$.\[])")
_ESCAPABLE = frozenset("'{}\\")
_MAX_NESTING = 50
"""A guard against runaway recursion; AWS documents nesting up to 10 and rejects deeper text."""


class _Parser:
    __slots__ = ("depth", "pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    def error(self, message: str, position: int | None = None) -> ExpressionSyntaxError:
        where = self.pos if position is None else position
        return ExpressionSyntaxError(
            f"Invalid intrinsic function call at position {where}: {message}", where
        )

    def skip_space(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos].isspace():
            pos += 1
        self.pos = pos

    def call(self) -> IntrinsicCall:
        start = self.pos
        match = _NAME.match(self.text, start)
        assert match is not None  # callers check the "States." prefix
        name = match.group(0)
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            hint = f"did you mean {close[0]}?" if close else "see INTRINSIC_ARITY for the list"
            raise self.error(f"Unknown intrinsic function {name!r}; {hint}", start)
        self.pos = match.end()
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise self.error(f"Expected '(' after {name}; write {name}(...)")
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise self.error(f"Intrinsic calls nest more than {_MAX_NESTING} deep", start)
        self.pos += 1
        args, template = self.arguments(name)
        self.depth -= 1
        function, low, high = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            raise self.error(_arity_message(name, low, high, len(args)), start)
        if template is not None:
            function = partial(_format_literal_template, template)
        return IntrinsicCall(name, tuple(args), self.text[start : self.pos], function)

    def arguments(self, name: str) -> tuple[list[Arg], FormatTemplate | None]:
        """Parse `arg, arg, ...)` after the opening parenthesis, through the closing one."""
        args: list[Arg] = []
        template: FormatTemplate | None = None
        text = self.text
        self.skip_space()
        if self.pos < len(text) and text[self.pos] == ")":
            self.pos += 1
            return args, template
        while True:
            self.skip_space()
            if self.pos >= len(text):
                raise self.error(f"Missing ')' to close {name}(")
            if text[self.pos] == "'" and name == "States.Format" and not args:
                value, escaped = self.string()
                template = compile_format_template(value, escaped)
                args.append(Literal(value))
            else:
                args.append(self.argument(name, len(args) + 1))
            self.skip_space()
            if self.pos >= len(text):
                raise self.error(f"Missing ')' to close {name}(")
            char = text[self.pos]
            self.pos += 1
            if char == ")":
                return args, template
            if char != ",":
                raise self.error(
                    f"Expected ',' or ')' after argument {len(args)} of {name}, found {char!r}",
                    self.pos - 1,
                )

    def argument(self, name: str, index: int) -> Arg:
        text, pos = self.text, self.pos
        char = text[pos]
        if char == "'":
            return Literal(self.string()[0])
        if char == "$":
            return self.path()
        if text.startswith("States.", pos):
            return self.call()
        if char == "-" or char.isdigit():
            match = _NUMBER.match(text, pos)
            if match is None:
                raise self.error(f"Argument {index} of {name} is not a valid number")
            self.pos = match.end()
            literal = match.group(0)
            if any(c in literal for c in ".eE"):
                value = float(literal)
                if value in (float("inf"), float("-inf")):
                    raise self.error(f"Number {literal} in {name} is out of range", pos)
                return Literal(value)
            return Literal(int(literal))
        keyword = _KEYWORD.match(text, pos)
        if keyword is not None:
            self.pos = keyword.end()
            return Literal(_KEYWORDS[keyword.group(1)])
        if char in ",)":
            raise self.error(f"Argument {index} of {name} is empty; remove the extra ','")
        raise self.error(
            f"Argument {index} of {name} must be a 'string', a number, true, false, null, "
            "a path starting with $, or a States.* call"
        )

    def string(self) -> tuple[str, frozenset[int]]:
        """A single-quoted string: its value and the offsets (in the value) of escaped braces."""
        text = self.text
        start = self.pos
        pos = start + 1
        out: list[str] = []
        escaped: set[int] = set()
        while pos < len(text):
            char = text[pos]
            if char == "'":
                self.pos = pos + 1
                return "".join(out), frozenset(escaped)
            if char == "\\":
                following = text[pos + 1] if pos + 1 < len(text) else ""
                if following not in _ESCAPABLE or not following:
                    raise self.error(
                        "Only \\', \\{, \\} and \\\\ may follow a backslash in an intrinsic "
                        "string; write \\\\ for a literal backslash",
                        pos,
                    )
                if following in "{}":
                    escaped.add(len(out))
                out.append(following)
                pos += 2
                continue
            out.append(char)
            pos += 1
        raise self.error("Unterminated string: add the closing single quote", start)

    def path(self) -> PathArg:
        """A path runs to the next ',' or ')' outside brackets, parentheses and quotes."""
        text = self.text
        start = pos = self.pos
        depth = 0
        quote = ""
        while pos < len(text):
            char = text[pos]
            if quote:
                if char == "\\":
                    pos += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            pos += 1
        path_text = text[start:pos].rstrip()
        try:
            path = compile_path(path_text)
        except ExpressionSyntaxError as exc:
            inner = exc.position if exc.position is not None else 0
            raise self.error(f"Invalid path {path_text!r}: {exc.message}", start + inner) from None
        self.pos = start + len(path_text)
        return PathArg(path_text, path)


def _format_literal_template(template: FormatTemplate, values: list[JSON], scope: Scope) -> JSON:
    """States.Format with a literal template, parsed once (its escaped braces are text)."""
    return render_format(template, values[1:])


def _arity_message(name: str, low: int, high: int | None, got: int) -> str:
    if high is None:
        wanted = f"at least {low} argument{'s' if low != 1 else ''}"
    elif low == high:
        wanted = f"exactly {low} argument{'s' if low != 1 else ''}"
    else:
        wanted = f"{low} to {high} arguments"
    return f"{name} takes {wanted}, but {got} {'was' if got == 1 else 'were'} given"
