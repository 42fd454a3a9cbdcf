"""JSONata in ASL: `{% ... %}` expressions compiled once, evaluated with AWS's rules and functions.

Owns: recognising `{% %}` strings, compiling them (jsonata-python parses; parsed expressions are
kept in a process-wide cache keyed by text, so a definition revision compiled again, or the same
expression written twice, is never re-parsed), compiling whole field values that hold
expressions at any depth (`JsonataValue`), evaluating them against the `$states` binding and the
workflow variables, AWS's extra functions ($partition, $range, $hash, $random, $uuid, $parse; $eval
is not available) and AWS's rules for results, with AWS's cause texts:

    undefined            The JSONata expression '<expr>' specified for the field '<field>' returned
                         nothing (undefined).
    a function, NaN...   ... returned an unsupported result type.
    wrong type           ... returned an unexpected result type. Expected 'array', but was
                         'string' for value: "x"                (typed fields: Items, Seconds, ...)
    an evaluation error  ... threw an error during evaluation: <code>: <message>

(recorded: localstack/assign/test_assign_reference_variables/test_undefined_reference.*,
localstack/scenarios/test_base_scenarios/test_map_state_items_eval_jsonata_fail.*). `<field>` is
the field path inside the state, `/`-joined: `Output`, `Output/result`, `Assign/x`, `Items`.
Errors are `QueryEvaluationError` (a `StatesError` carrying that field path, which the
interpreter records in its EvaluationFailed event). Must never: raise anything else while
evaluating (every jsonata-python failure is translated), read the wall clock ($now and $millis
read the time the interpreter passes in; the evaluation budget reads the thread's CPU clock,
never a date), run a user's regex on Python's backtracking `re` (regex literals compile for
RE2 in regexes.py), run one expression past its step and time budget (MAX_EVALUATION_STEPS,
EVALUATION_TIME_BUDGET), or know about states and frames.

Numbers follow AWS's JSONata (JavaScript numbers): an integral result is an integer (`1.0` in the
input comes back as `1`), other numbers are floats.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, TypeAlias, cast

from jsonata import JException, Jsonata
from jsonata.regex_engine import RegexFlags
from jsonata.utils import Utils

from engine.definition.jsonata_value import (
    MISSING,
    Evaluator,
    JsonataValue,
    QueryEvaluationError,
    expression_text,
    is_expression,
    states_binding,
    subject,
    unexpected_type_cause,
)
from engine.definition.regexes import RegexNotSupported, compile_regex, js_replace
from engine.definition.scope import Scope
from engine.errors import ExpressionSyntaxError
from engine.values import JSON

if TYPE_CHECKING:
    import random

__all__ = [
    "MISSING",
    "CacheStats",
    "JsonataExpression",
    "JsonataValue",
    "QueryEvaluationError",
    "cache_stats",
    "compile_expression",
    "compile_value",
    "expression_text",
    "is_expression",
    "states_binding",
    "unexpected_type_cause",
]

_NULL: Final = Utils.NULL_VALUE
_NONE: Final = Utils.NONE

# Work bounds for one evaluation. AWS stops runaway expressions ("Expression evaluation timeout:
# Check for infinite loop"); a tail-recursive loop never overflows the stack, so only a budget
# stops it here. Two budgets, whichever runs out first, with the same cause:
# - steps: evaluated nodes plus regex matches found. Deterministic, the same on every machine.
# - time: CPU seconds of the evaluating thread (time.thread_time), so that one expression never
#   holds the event loop, and every other execution of the process, for long; CPU time rather
#   than wall time so that a busy neighbour does not make a well-behaved expression fail. The
#   clock is read every _CLOCK_EVERY steps. Each regex call is linear-time (regexes.py), so no
#   single step runs long on a payload within the 256 KiB limit.
# A step-limited infinite loop held the loop ~2.5 s before the time budget, ~0.1 s with it.
MAX_EVALUATION_STEPS: Final = 1_000_000
EVALUATION_TIME_BUDGET: Final = 0.1
_CLOCK_EVERY: Final = 64
_RUNAWAY_MESSAGE: Final = "Expression evaluation timeout: Check for infinite loop"


# -- the compile cache ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Parsed-expression cache counters: `misses` parses, `hits` reuses of a parsed expression."""

    hits: int
    misses: int
    size: int


_CACHE: dict[str, JsonataExpression] = {}
_CACHE_LOCK = threading.Lock()
_COUNTS = [0, 0]  # hits, misses
_CACHE_LIMIT: Final = 50_000


def cache_stats() -> CacheStats:
    """How often compiling found the expression already parsed (across definitions and runs)."""
    return CacheStats(hits=_COUNTS[0], misses=_COUNTS[1], size=len(_CACHE))


def compile_expression(text: str) -> JsonataExpression:
    """Parse one JSONata expression (the text inside `{% %}`), reusing an earlier parse.

    Raises `ExpressionSyntaxError` (with the 0-based position when jsonata-python knows it) for a
    malformed expression.
    """
    cached = _CACHE.get(text)
    if cached is not None:
        _COUNTS[0] += 1
        return cached
    with _CACHE_LOCK:
        cached = _CACHE.get(text)
        if cached is not None:
            _COUNTS[0] += 1
            return cached
        parsed = _parse(text)
        compiled = JsonataExpression(text, parsed, _fast(parsed.ast))
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()  # a crude bound: definitions are compiled again only on a miss
        _CACHE[text] = compiled
        _COUNTS[1] += 1
        return compiled


class _AwsJsonata(Jsonata):  # type: ignore[misc]
    """jsonata-python with JavaScript's remainder operator.

    AWS evaluates JSONata in JavaScript, where `7.5 % 2` is 1.5; jsonata-python (0.6) truncates
    every remainder to an integer. A remainder by zero is NaN in JavaScript, which is not a JSON
    number: we report it as JSONata reports other out-of-range numbers (D1001).
    """

    def evaluate_numeric_expression(self, lhs: object, rhs: object, op: str | None) -> object:
        if op != "%" or not (Utils.is_numeric(lhs) and Utils.is_numeric(rhs)):
            return super().evaluate_numeric_expression(lhs, rhs, op)
        divisor = float(cast(float, rhs))
        if divisor == 0:
            raise JException("D1001", -1, "NaN")
        return Utils.convert_number(math.fmod(float(cast(float, lhs)), divisor))


def _parse(text: str) -> Jsonata:
    if not text.strip():
        raise ExpressionSyntaxError("the JSONata expression is empty", 0)
    try:
        compiled = _AwsJsonata(text, _regex_engine)
    except JException as exc:
        position = exc.location if isinstance(exc.location, int) and exc.location >= 0 else None
        raise ExpressionSyntaxError(f"{exc.error}: {exc}", position) from None
    except Exception as exc:  # jsonata-python's tokenizer raises plain errors on odd input
        raise ExpressionSyntaxError(f"the JSONata expression is not valid: {exc}", None) from None
    if compiled.errors:
        raise ExpressionSyntaxError(f"the JSONata expression is not valid: {compiled.errors[0]}")
    return compiled


# -- evaluation environment ---------------------------------------------------------------------


class _Context(threading.local):
    """What the AWS functions need during one evaluation (set by `_run`, per thread)."""

    def __init__(self) -> None:
        self.rng: random.Random | None = None
        self.now: float | None = None
        self.steps = 0
        self.deadline = 0.0  # time.thread_time() past which the evaluation stops


_CONTEXT = _Context()


class _AwsFunctionError(Exception):
    """An AWS-specific function refused its arguments (AWS reports code D3137)."""

    def __init__(self, message: str, code: str = "D3137") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Native(Jsonata.JFunctionCallable):  # type: ignore[misc]
    """A Python function callable from JSONata with jsonata-python's argument list."""

    def __init__(self, function: Callable[..., object]) -> None:
        self.function = function

    def call(self, input: object, args: object) -> object:  # noqa: A002 - jsonata-python's name
        values = list(args) if isinstance(args, list) else []
        return self.function(*values)


def _define(name: str, signature: str, function: Callable[..., object]) -> Jsonata.JFunction:
    defined = Jsonata.JFunction(_Native(function), signature)
    defined.signature.set_function_name(name)
    return defined


def _truncate(value: object) -> int:
    """AWS rounds numeric arguments of its functions towards zero."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _AwsFunctionError("Argument must be a number", "T0410")
    if not math.isfinite(value):
        raise _AwsFunctionError("Argument must be a finite number", "D3137")
    return int(value)


def _fn_partition(array: object = None, size: object = None) -> object:
    if array is None or not isinstance(array, list):
        raise _AwsFunctionError('Argument 1 of function "partition" must be an array', "T0412")
    items = list(array)
    if not items:
        return None
    if size is None:
        return [items]
    chunk = _truncate(size)
    if chunk < 0:
        raise _AwsFunctionError("Second argument must be zero or greater")
    if chunk == 0:
        return None
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


# AWS refuses a $range larger than this with its memory-limit error (measured by the Floci project
# against AWS: 360,145 elements pass, 360,146 fail).
_RANGE_LIMIT: Final = 360_145
_MEMORY_LIMIT_MESSAGE: Final = (
    "Expression evaluation memory limit exceeded: Check for excessive memory usage"
)


def _fn_range(start: object, end: object, step: object = None) -> object:
    first = _truncate(start)
    last = _truncate(end)
    if step is None:
        return None
    stride = _truncate(step)
    if stride == 0 or (stride > 0 and first > last) or (stride < 0 and first < last):
        return None
    count = (last - first) // stride + 1
    if count > _RANGE_LIMIT:
        raise _AwsFunctionError(_MEMORY_LIMIT_MESSAGE, "")
    values: list[object] = list(range(first, last + (1 if stride > 0 else -1), stride))
    if len(values) == 1:
        return values[0]
    return values


_HASHES: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _fn_hash(data: object, algorithm: object = None) -> object:
    if algorithm is None:
        return None
    name = _HASHES.get(str(algorithm))
    if name is None:
        raise _AwsFunctionError(
            f"Unsupported hashing algorithm: {algorithm}. Supported algorithms: "
            "MD5, SHA-1, SHA-256, SHA-384, SHA-512"
        )
    return hashlib.new(name, str(data).encode("utf-8"), usedforsecurity=False).hexdigest()


def _java_random(seed: int) -> float:
    """java.util.Random(seed).nextDouble(): AWS's seeded $random draws from it."""
    mask = (1 << 48) - 1
    state = (seed ^ 0x5DEECE66D) & mask

    def next_bits(bits: int) -> int:
        nonlocal state
        state = (state * 0x5DEECE66D + 0xB) & mask
        return state >> (48 - bits)

    return ((next_bits(26) << 27) + next_bits(27)) * (1.0 / (1 << 53))


def _fn_random(seed: object = None) -> object:
    if seed is not None:
        return _java_random(_truncate(seed))
    rng = _CONTEXT.rng
    if rng is None:
        raise _AwsFunctionError("no random source", "D3137")
    return rng.random()


def _fn_uuid() -> object:
    rng = _CONTEXT.rng
    if rng is None:
        raise _AwsFunctionError("no random source", "D3137")
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _fn_parse(text: object = None) -> object:
    if text is None:
        return None
    try:
        value = json.loads(
            str(text), object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except ValueError:
        raise _AwsFunctionError(f"Invalid JSON: {text}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise _AwsFunctionError(f"Invalid JSON: {text}")
    return _to_jsonata(value)


def _to_jsonata(value: object) -> object:
    """A parsed JSON value as JSONata sees it: top-level null is JSONata's null, not undefined."""
    return _NULL if value is None else value


def _fn_now(picture: object = None, timezone: object = None) -> object:
    moment = _CONTEXT.now
    millis = round((moment or 0.0) * 1000)
    if picture is None and timezone is None:
        stamp = datetime.fromtimestamp(millis / 1000, tz=UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    from jsonata.functions import Functions

    return Functions.datetime_from_millis(millis, picture, timezone)


def _fn_millis() -> object:
    return round((_CONTEXT.now or 0.0) * 1000)


def _tick() -> None:
    """One step of the evaluation's budget (see MAX_EVALUATION_STEPS); raises when it is spent."""
    context = _CONTEXT
    steps = context.steps = context.steps + 1
    if steps % _CLOCK_EVERY == 0 and time.thread_time() > context.deadline:
        raise _AwsFunctionError(_RUNAWAY_MESSAGE, "")
    if steps > MAX_EVALUATION_STEPS:
        raise _AwsFunctionError(_RUNAWAY_MESSAGE, "")


def _count_step(expr: object, input: object, env: object) -> None:  # noqa: A002
    _tick()


def _regex_engine(pattern: str, flags: RegexFlags) -> object:
    """jsonata-python's regex engine hook: literals compile for RE2, each match is a step."""
    return compile_regex(pattern, flags, _tick)


def _base_frame() -> Jsonata.Frame:
    frame = Jsonata.Frame(Jsonata.static_frame)
    frame.bind("partition", _define("partition", "<a?n?:a>", _fn_partition))
    frame.bind("range", _define("range", "<nnn?:a>", _fn_range))
    frame.bind("hash", _define("hash", "<ss?:s>", _fn_hash))
    frame.bind("random", _define("random", "<n?:n>", _fn_random))
    frame.bind("uuid", _define("uuid", "<:s>", _fn_uuid))
    frame.bind("parse", _define("parse", "<s?:x>", _fn_parse))
    frame.bind("now", _define("now", "<s?s?:s>", _fn_now))
    frame.bind("millis", _define("millis", "<:n>", _fn_millis))
    # jsonata-python's own signature; the regex case follows jsonata.js (regexes.js_replace).
    frame.bind("replace", _define("replace", "<s-(sf)(sf)n?:s>", js_replace))
    # AWS: "$eval is not available - use $parse instead"; calling it is T1006.
    frame.bind("eval", None)
    frame.bind("__evaluate_entry", _count_step)
    return frame


_BASE: Final = _base_frame()


class _ScopeFrame(Jsonata.Frame):  # type: ignore[misc]
    """The evaluation frame: `$states` and `$`, then the workflow variables, then the functions.

    Variables are read from the interpreter's mapping in place (never copied per evaluation);
    a JSON null variable is JSONata's null, since None means undefined to jsonata-python.
    """

    def __init__(self, states: object, variables: Mapping[str, JSON]) -> None:
        # The step counter is looked up for every evaluated node: keep it in the first frame.
        self.bindings = {"$": None, "states": states, "__evaluate_entry": _count_step}
        self.parent = _BASE
        self.is_parallel_call = False
        self.variables = variables

    def lookup(self, name: str) -> object:
        value = self.bindings.get(name, _NONE)
        if value is not _NONE:
            return value
        variables = self.variables
        if name in variables:
            found = variables[name]
            return _NULL if found is None else found
        return _BASE.lookup(name)


# -- results ------------------------------------------------------------------------------------


class _Unsupported(Exception):
    """The result holds something JSON cannot: a function, a regex, a non-finite number."""


def _to_json(value: object) -> JSON:
    """jsonata-python's result as a plain JSON value (see the module docstring on numbers).

    A plain dict or list that needs no change is returned as is (results often are the state's
    input or a part of it, and copying them would cost a walk plus an allocation per node).
    """
    kind = type(value)
    if kind is str or kind is bool or kind is int:
        return cast(JSON, value)
    if kind is dict:
        source = cast(dict[str, object], value)
        changed: dict[str, JSON] | None = None
        for key, item in source.items():
            converted = _to_json(item)
            if converted is not item:
                if changed is None:
                    changed = cast(dict[str, JSON], dict(source))
                changed[key] = converted
        return cast(JSON, source) if changed is None else changed
    if kind is list:
        items = cast(list[object], value)
        copied: list[JSON] | None = None
        for index, item in enumerate(items):
            converted = _to_json(item)
            if converted is not item:
                if copied is None:
                    copied = cast(list[JSON], list(items))
                copied[index] = converted
        return cast(JSON, items) if copied is None else copied
    if value is None or value is _NULL:
        return None
    if kind is float:
        number = cast(float, value)
        if not math.isfinite(number):
            raise _Unsupported
        if number.is_integer() and abs(number) < 2**63:
            return int(number)
        return number
    if isinstance(value, dict):  # jsonata-python's own mapping types
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list):  # JList (a result sequence or a constructed array)
        return [_to_json(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise _Unsupported


# -- the fast path ------------------------------------------------------------------------------
# Most ASL expressions are a variable or `$states` path, a literal, or arithmetic / comparison /
# concatenation of those. They are compiled into Python closures that read the values directly;
# a closure returns _SLOW whenever the data leaves the plain case (an array on the way, a missing
# value, an operand of an unexpected type, division by zero), and the expression is then
# evaluated by jsonata-python from the start, so results and errors stay exactly JSONata's.

_SLOW: Final = object()
Fast: TypeAlias = Callable[[Mapping[str, object], Mapping[str, JSON]], object]
_STEP_EXTRAS: Final = (
    "stages",
    "predicate",
    "group",
    "focus",
    "index",
    "tuple",
    "keep_array",
    "ancestor",
)


def _plain_step(step: object) -> bool:
    return not any(getattr(step, extra, None) for extra in _STEP_EXTRAS)


def _fast_root(name: str) -> Fast:
    if name == "states":
        return lambda states, variables: states
    if name == "":
        return lambda states, variables: _SLOW

    def variable(states: Mapping[str, object], variables: Mapping[str, JSON]) -> object:
        if name in variables:
            found = variables[name]
            return _NULL if found is None else found
        return _SLOW

    return variable


def _fast_path(root: Fast, names: tuple[str, ...]) -> Fast:
    def path(states: Mapping[str, object], variables: Mapping[str, JSON]) -> object:
        current = root(states, variables)
        for name in names:
            if type(current) is not dict:
                return _SLOW
            current = current.get(name, _SLOW)
            if current is _SLOW:
                return _SLOW
        return _NULL if current is None else current

    return path


_EXACT_INT: Final = 2**53
"""JSONata's numbers are doubles: an int past 2**53 (an operand or a sum) is rounded there, and
Python's exact ints would give another answer, so such values take the slow path."""


def _big_int(value: object) -> bool:
    return type(value) is int and not -_EXACT_INT <= value <= _EXACT_INT


def _number(value: object) -> bool:
    kind = type(value)
    return kind is float or (kind is int and -_EXACT_INT <= cast(int, value) <= _EXACT_INT)


def _fast_binary(operator: str, lhs: Fast, rhs: Fast) -> Fast | None:
    def arithmetic(states: Mapping[str, object], variables: Mapping[str, JSON]) -> object:
        left = lhs(states, variables)
        right = rhs(states, variables)
        if not (_number(left) and _number(right)):
            return _SLOW
        a = cast(float, left)
        b = cast(float, right)
        if operator in ("+", "-", "*"):
            result = a + b if operator == "+" else a - b if operator == "-" else a * b
            if type(result) is int and not -_EXACT_INT <= result <= _EXACT_INT:
                return _SLOW
            return result
        if b == 0:
            return _SLOW
        return a / b if operator == "/" else math.fmod(a, b)

    def compare(states: Mapping[str, object], variables: Mapping[str, JSON]) -> object:
        left = lhs(states, variables)
        right = rhs(states, variables)
        scalar = (str, int, float, bool)
        if type(left) not in scalar or type(right) not in scalar:
            return _SLOW
        if _big_int(left) or _big_int(right):
            return _SLOW
        if operator == "=":
            return left == right and (type(left) is bool) == (type(right) is bool)
        if operator == "!=":
            return not (left == right and (type(left) is bool) == (type(right) is bool))
        both_numbers = _number(left) and _number(right)
        if not both_numbers and not (type(left) is str and type(right) is str):
            return _SLOW
        a = cast(float, left)
        b = cast(float, right)
        if operator == "<":
            return a < b
        if operator == "<=":
            return a <= b
        if operator == ">":
            return a > b
        return a >= b

    def concatenate(states: Mapping[str, object], variables: Mapping[str, JSON]) -> object:
        left = lhs(states, variables)
        right = rhs(states, variables)
        if type(left) is not str or type(right) is not str:
            return _SLOW
        return left + right

    def logic(states: Mapping[str, object], variables: Mapping[str, JSON]) -> object:
        left = lhs(states, variables)
        right = rhs(states, variables)
        if type(left) is not bool or type(right) is not bool:
            return _SLOW
        return (left and right) if operator == "and" else (left or right)

    if operator in ("+", "-", "*", "/", "%"):
        return arithmetic
    if operator in ("=", "!=", "<", "<=", ">", ">="):
        return compare
    if operator == "&":
        return concatenate
    if operator in ("and", "or"):
        return logic
    return None


def _fast(node: object) -> Fast | None:
    """A closure for a plain expression (see above), or None when it is not plain."""
    kind = getattr(node, "type", None)
    if not _plain_step(node):
        return None
    value = getattr(node, "value", None)
    if kind == "number" or kind == "string":
        return lambda states, variables: value
    if kind == "value" and isinstance(value, bool):
        return lambda states, variables: value
    if kind == "variable" and isinstance(value, str):
        return _fast_root(value)
    if kind == "path":
        steps = getattr(node, "steps", None) or []
        if not steps or getattr(steps[0], "type", None) != "variable":
            return None
        if not all(_plain_step(step) for step in steps):
            return None
        if not all(getattr(step, "type", None) == "name" for step in steps[1:]):
            return None
        names = tuple(str(step.value) for step in steps[1:])
        return _fast_path(_fast_root(str(steps[0].value)), names)
    if kind == "binary" and isinstance(value, str):
        lhs = _fast(getattr(node, "lhs", None))
        rhs = _fast(getattr(node, "rhs", None))
        if lhs is None or rhs is None:
            return None
        return _fast_binary(value, lhs, rhs)
    return None


_SIGNATURE_WORDING: Final = re.compile(r"Argument (\d+) of Object (\w+)")


def _error_detail(exc: BaseException) -> str:
    if isinstance(exc, _AwsFunctionError):
        return f"{exc.code}: {exc.message}" if exc.code else exc.message
    if isinstance(exc, RegexNotSupported):
        return exc.message
    if isinstance(exc, JException):
        # jsonata-python words signature errors "of Object x ... Object signature"; JSONata
        # (and AWS) say 'of function "x" ... function signature'.
        message = _SIGNATURE_WORDING.sub(r'Argument \1 of function "\2"', str(exc))
        return f"{exc.error}: {message.replace('Object signature', 'function signature')}"
    if isinstance(exc, RecursionError):
        return (
            "Stack overflow error: Check for non-terminating recursive function.  "
            "Consider rewriting as tail-recursive"
        )
    if isinstance(exc, ZeroDivisionError | OverflowError):
        return 'D1001: Number out of range: "Infinity"'
    return f"{type(exc).__name__}: {exc}"


# -- expressions and values ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class JsonataExpression:
    """One parsed expression. Shared by every state and execution that uses the same text."""

    text: str
    compiled: Jsonata
    fast: Fast | None = None

    def evaluate(
        self,
        states: Mapping[str, object],
        scope: Scope,
        location: str,
        now: float | None = None,
    ) -> JSON:
        """The expression's value as JSON; `QueryEvaluationError` (AWS's causes) otherwise."""
        fast = self.fast
        if fast is not None:
            raw = fast(states, scope.variables)
            if raw is not _SLOW:
                try:
                    return _to_json(raw)
                except _Unsupported:
                    pass  # a non-finite number: let jsonata-python say what it says
        frame = _ScopeFrame(states, scope.variables)
        context = _CONTEXT
        context.rng = scope.rng
        context.now = now
        context.steps = 0
        context.deadline = time.thread_time() + EVALUATION_TIME_BUDGET
        try:
            raw = self.compiled.eval(self.compiled.ast, None, frame)
        except Exception as exc:  # jsonata-python raises JException and plain Python errors
            raise QueryEvaluationError(
                f"{subject(self.text, location)} threw an error during evaluation: "
                f"{_error_detail(exc)}",
                location,
            ) from None
        if raw is None:
            raise QueryEvaluationError(
                f"{subject(self.text, location)} returned nothing (undefined).", location
            )
        try:
            return _to_json(raw)
        except (_Unsupported, RecursionError):
            raise QueryEvaluationError(
                f"{subject(self.text, location)} returned an unsupported result type.", location
            ) from None


def compile_value(value: JSON, location: str) -> JsonataValue:
    """Compile a field value of a JSONata state; `location` is its field path (`Output`).

    Raises `ExpressionSyntaxError` for a malformed expression, its message naming the field path.
    """
    if is_expression(value):
        expression = _compile_at(cast(str, value), location)
        return JsonataValue(value, location, expression, _expression_builder(expression, location))
    return JsonataValue(value, location, None, _compile(value, location))


def _expression_builder(expression: JsonataExpression, location: str) -> Evaluator:
    def build_expression(states: Mapping[str, object], scope: Scope, now: float | None) -> JSON:
        return expression.evaluate(states, scope, location, now)

    return build_expression


def _compile_at(value: str, location: str) -> JsonataExpression:
    try:
        return compile_expression(expression_text(value))
    except ExpressionSyntaxError as exc:
        raise ExpressionSyntaxError(
            f"The JSONata expression in field '{location}' is not valid: {exc.message}",
            exc.position,
        ) from None


def _compile(value: JSON, location: str) -> Evaluator | None:
    if isinstance(value, str):
        if not is_expression(value):
            return None
        return _expression_builder(_compile_at(value, location), location)
    if isinstance(value, dict):
        parts = [(key, _compile(item, f"{location}/{key}"), item) for key, item in value.items()]
        if all(build is None for _, build, _ in parts):
            return None
        entries = tuple(parts)

        def build_object(states: Mapping[str, object], scope: Scope, now: float | None) -> JSON:
            return {
                key: (item if build is None else build(states, scope, now))
                for key, build, item in entries
            }

        return build_object
    if isinstance(value, list):
        items = [(_compile(item, f"{location}/{index}"), item) for index, item in enumerate(value)]
        if all(build is None for build, _ in items):
            return None
        elements = tuple(items)

        def build_array(states: Mapping[str, object], scope: Scope, now: float | None) -> JSON:
            return [
                item if build is None else build(states, scope, now) for build, item in elements
            ]

        return build_array
    return None


def expressions_in(value: JSON) -> Sequence[str]:
    """Every `{% %}` expression text inside a value, in document order."""
    found: list[str] = []
    if isinstance(value, str):
        if is_expression(value):
            found.append(expression_text(value))
    elif isinstance(value, dict):
        for item in value.values():
            found.extend(expressions_in(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(expressions_in(item))
    return found
