"""Regular expressions in JSONata: JavaScript regex literals, run on RE2 in linear time.

Owns: compiling a JSONata regex literal (`/pattern/flags`) through jsonata-python's pluggable
regex engine (`Jsonata(text, regex_engine)`, jsonata-python >= 0.7: the parser hands every
literal to it), the few JavaScript spellings RE2 writes differently, the wording used when a
pattern needs a feature RE2 does not have, and `$replace` with a regex (JSONata's own
algorithm; jsonata-python's goes through Python's `re` templates). Must never: hand a user's
pattern to Python's backtracking `re` (`/(a+)+$/` on 28 a's and a `b` took 14 s there, blocking
every execution of the process), raise while a definition is compiled (a refused pattern fails
when it is used, so a definition stored before a refusal still loads), or know about states.

RE2 (google-re2) runs in time linear in the text for every pattern. What it lacks is what needs
backtracking: backreferences (`\\1`, `\\k<name>`) and lookaround (`(?=`, `(?!`, `(?<=`,
`(?<!`). Validation refuses those in a literal (`check_regex`, a located diagnostic); if one
reaches evaluation anyway, the call fails with `RegexNotSupported` (the interpreter reports
States.QueryEvaluationError with its message). Each match found counts as one evaluation step
(`checkpoint`), so a call that finds many matches stays within the expression's budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Final, cast

import re2
from jsonata.functions import Functions
from jsonata.jexception import JException
from jsonata.regex_engine import RegexFlags

__all__ = [
    "Checkpoint",
    "Re2Pattern",
    "RefusedPattern",
    "RegexNotSupported",
    "check_regex",
    "compile_regex",
    "js_replace",
]

Checkpoint = Callable[[], None]
"""Called once per match found; raises to stop a call that has used up its budget."""

_LOOKAROUND: Final = {
    "(?=": "a lookahead assertion '(?='",
    "(?!": "a negative lookahead assertion '(?!'",
    "(?<=": "a lookbehind assertion '(?<='",
    "(?<!": "a negative lookbehind assertion '(?<!'",
}
_WHY: Final = (
    "regular expressions run on RE2 (linear time), which has no backreferences or lookaround"
)
_HEX4: Final = re.compile(r"[0-9A-Fa-f]{4}")


class RegexNotSupported(Exception):
    """A JSONata regex that RE2 cannot run; `message` says which feature and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _translate(pattern: str) -> tuple[str, str | None]:
    """The pattern in RE2's spelling, and what in it RE2 cannot run (None when nothing).

    One pass over the pattern, escapes and character classes tracked, so `\\(?=` or `[(?=]`
    are not taken for lookahead. JavaScript's `\\uXXXX` becomes RE2's `\\x{XXXX}` and `[\\b]`
    (a backspace in a class) becomes `\\x08`; everything else is passed as written.
    """
    out: list[str] = []
    in_class = False
    i = 0
    n = len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            escaped = pattern[i + 1]
            if escaped == "u" and _HEX4.fullmatch(pattern, i + 2, i + 6):
                out.append(f"\\x{{{pattern[i + 2 : i + 6]}}}")
                i += 6
                continue
            if not in_class and (escaped in "123456789" or pattern.startswith("k<", i + 1)):
                return pattern, f"a backreference '\\{escaped}'"
            out.append("\\x08" if in_class and escaped == "b" else pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern.startswith("]", i + 1) or pattern.startswith("^]", i + 1):
                # `[]...]`/`[^]...]`: JavaScript ends the class there, RE2 takes the `]` as a
                # member; say so rather than silently matching something else.
                return pattern, "an empty character class '[]' or '[^]'"
        elif char == "(":
            for opener, name in _LOOKAROUND.items():
                if pattern.startswith(opener, i):
                    return pattern, name
        out.append(char)
        i += 1
    return "".join(out), None


def _options(flags: RegexFlags) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = not flags.case_insensitive
    options.log_errors = False  # RE2 would print each refusal to stderr
    return options


def _refusal(pattern: str, flags: RegexFlags) -> tuple[re2._Regexp | None, str | None]:
    translated, feature = _translate(pattern)
    shown = f"/{pattern}/"
    if feature is not None:
        return (
            None,
            f"The regular expression {shown} uses {feature}, which is not supported: {_WHY}",
        )
    if flags.multiline:
        translated = "(?m)" + translated
    try:
        return re2.compile(translated, _options(flags)), None
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        return None, f"The regular expression {shown} is not supported by RE2: {detail}"


def _no_checkpoint() -> None:
    return None


class Re2Pattern:
    """A compiled JSONata regex, with the methods jsonata-python calls on a regex value.

    `finditer` (which `$match`, `$contains` and `/re/(text)` use), `search`, `split` and
    `sub` all find their matches through `finditer`, so each match passes the checkpoint.
    `split` keeps JavaScript's rule (captured groups are not part of the result; Python's
    `re.split` would insert them).
    """

    __slots__ = ("_checkpoint", "_regexp", "source")

    def __init__(self, source: str, regexp: re2._Regexp, checkpoint: Checkpoint) -> None:
        self.source = source
        self._regexp = regexp
        self._checkpoint = checkpoint

    def __repr__(self) -> str:
        return f"Re2Pattern(/{self.source}/)"

    def finditer(self, string: str) -> Iterator[re2._Match]:
        checkpoint = self._checkpoint
        try:
            for match in self._regexp.finditer(string):
                checkpoint()
                yield match
        except UnicodeEncodeError:  # RE2 reads UTF-8, which has no lone surrogates
            raise RegexNotSupported(
                f"The regular expression /{self.source}/ cannot search a text holding a lone "
                "surrogate (\\ud800 to \\udfff)"
            ) from None

    def search(self, string: str) -> re2._Match | None:
        return next(self.finditer(string), None)

    def split(self, string: str, maxsplit: int = 0) -> list[str]:
        pieces: list[str] = []
        start = 0
        for count, match in enumerate(self.finditer(string)):
            if maxsplit and count >= maxsplit:
                break
            pieces.append(string[start : match.start()])
            start = match.end()
        pieces.append(string[start:])
        return pieces

    def sub(self, repl: object, string: str, count: int = 0) -> str:
        """Replace matches by `repl(match)`; only a callable is accepted.

        jsonata-python passes a Python `re` template string here from its own `$replace`,
        which `js_replace` replaces (JSONata's `$1`/`$$` rules, not Python's backslashes).
        """
        if not callable(repl):
            raise TypeError("Re2Pattern.sub takes a function; $replace uses js_replace")
        pieces: list[str] = []
        start = 0
        for done, match in enumerate(self.finditer(string)):
            if count and done >= count:
                break
            pieces.append(string[start : match.start()])
            pieces.append(cast(str, repl(match)))
            start = match.end()
        pieces.append(string[start:])
        return "".join(pieces)


class RefusedPattern:
    """A literal RE2 cannot run: every use raises `RegexNotSupported` with the reason."""

    __slots__ = ("message", "source")

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.message = message

    def __repr__(self) -> str:
        return f"RefusedPattern(/{self.source}/)"

    def _refuse(self, *args: object) -> None:
        raise RegexNotSupported(self.message)

    finditer = search = split = sub = _refuse


def compile_regex(
    pattern: str, flags: RegexFlags, checkpoint: Checkpoint = _no_checkpoint
) -> Re2Pattern | RefusedPattern:
    """The regex engine for evaluation: never raises; a refused pattern fails when used."""
    compiled, problem = _refusal(pattern, flags)
    if compiled is None:
        return RefusedPattern(pattern, problem or "")
    return Re2Pattern(pattern, compiled, checkpoint)


def check_regex(pattern: str, flags: RegexFlags) -> Re2Pattern:
    """The regex engine for validation: raises `RegexNotSupported` for a refused pattern."""
    compiled, problem = _refusal(pattern, flags)
    if compiled is None:
        raise RegexNotSupported(problem or "")
    return Re2Pattern(pattern, compiled, _no_checkpoint)


# -- $replace with a regex ------------------------------------------------------------------


def _parse_int(text: str) -> int | None:
    """JavaScript's parseInt(text, 10): blanks, a sign, the leading digits; None for NaN."""
    body = text.lstrip(" \t\n\r\v\f")
    sign = -1 if body.startswith("-") else 1
    body = body[1:] if body[:1] in "+-" else body
    digits = len(body) - len(body.lstrip("0123456789"))
    if digits == 0:
        return None
    return sign * int(body[:digits])


def _expand(replacement: str, match: str, groups: Sequence[str | None]) -> str:
    """JSONata's replacement string: `$0` the match, `$1`... a group, `$$` a `$`.

    A port of jsonata.js `replace`: a group number takes as many digits as the group count
    has, one fewer if that names no group; a missing group gives nothing.
    """
    out: list[str] = []
    position = 0
    index = replacement.find("$", position)
    while index != -1 and position < len(replacement):
        out.append(replacement[position:index])
        position = index + 1
        dollar = replacement[position : position + 1]
        if dollar == "$":
            out.append("$")
            position += 1
        elif dollar == "0":
            out.append(match)
            position += 1
        else:
            max_digits = len(str(len(groups))) if groups else 1
            number = _parse_int(replacement[position : position + max_digits])
            if max_digits > 1 and number is not None and number > len(groups):
                number = _parse_int(replacement[position : position + max_digits - 1])
            if number is None:
                out.append("$")
            else:
                if groups and 0 < number <= len(groups):
                    out.append(groups[number - 1] or "")
                position += len(str(number))
        index = replacement.find("$", position)
    out.append(replacement[position:])
    return "".join(out)


def js_replace(
    string: object, pattern: object, replacement: object, limit: object = None
) -> object:
    """`$replace` as JSONata defines it when the pattern is a regex (jsonata.js `replace`).

    Anything else (a string pattern, an undefined or null string, a negative limit) is left to
    jsonata-python, which words those errors. A function replacement gets the match object
    `{match, start, end, groups}`.
    """
    if (
        not isinstance(pattern, Re2Pattern)
        or not isinstance(string, str)
        or (limit is not None and cast(float, limit) < 0)
    ):
        return Functions.replace(string, pattern, replacement, limit)
    if limit is not None and cast(float, limit) == 0:
        return string
    pieces: list[str] = []
    position = 0
    for count, found in enumerate(pattern.finditer(string)):
        if limit is not None and count >= cast(float, limit):
            break
        groups = [found.group(g) for g in range(1, len(found.groups()) + 1)]
        if isinstance(replacement, str):
            replaced: object = _expand(replacement, found.group(), groups)
        else:
            record = {
                "match": found.group(),
                "start": found.start(),
                "end": found.end(),
                "groups": groups,
            }
            replaced = Functions.func_apply(replacement, [record])
        if not isinstance(replaced, str):
            raise JException("D3012", -1)
        pieces.append(string[position : found.start()])
        pieces.append(replaced)
        position = found.end()
    pieces.append(string[position:])
    return "".join(pieces)
