"""What `asl test` prints and writes: the report, JUnit XML, JSON, coverage table, annotation.

Owns: the shapes of every output of `asl test` (docs/cli.md shows them): one line per case and
then, under a failing case, one line per difference (`output $.status: expected "PAID", got
"DECLINED"`); JUnit XML (a `testsuite` per test file, a `testcase` per case, a `failure` with
the differences, an `error` for a case that could not run); the `--json` object; the coverage
table; and the annotated definition (the definition, each element's line marked with its hit
count or `!!` when no case exercised it). Must never: run anything or compute coverage.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from typing import Final

from engine.asltest.coverage import KINDS, MachineCoverage, Totals
from engine.asltest.runner import CaseResult
from engine.values import JSON

__all__ = ["annotate", "coverage_table", "json_report", "junit_xml", "overall", "text_report"]

_LABELS: Final = {"passed": "PASS ", "failed": "FAIL ", "error": "ERROR"}
_HEADINGS: Final = {
    "state": "States",
    "choice rule": "Choice rules",
    "retrier": "Retriers",
    "catcher": "Catchers",
    "branch": "Branches",
}


def _counts(results: Sequence[CaseResult]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "error": 0}
    for result in results:
        counts[result.outcome] += 1
    return counts


def text_report(results: Sequence[CaseResult], machines: Mapping[str, str]) -> str:
    """One line per case under its file, the differences of each failing case below it, and
    a summary. `machines` gives each test file's machine name."""
    lines: list[str] = []
    current = None
    for result in results:
        if result.file != current:
            if current is not None:
                lines.append("")
            current = result.file
            lines.append(f"{result.file} ({machines.get(result.file, '?')})")
        lines.append(f"  {_LABELS[result.outcome]} {result.case.name}")
        if result.error is not None:
            lines.append(f"         {result.error}")
        lines.extend(f"         {mismatch.line()}" for mismatch in result.mismatches)
    counts = _counts(results)
    files = len({r.file for r in results})
    parts = [f"{counts['passed']} passed"]
    if counts["failed"]:
        parts.append(f"{counts['failed']} failed")
    if counts["error"]:
        parts.append(f"{counts['error']} could not run")
    cases = f"{len(results)} case{'s' if len(results) != 1 else ''}"
    lines += ["", f"{', '.join(parts)} ({cases} in {files} file{'s' if files != 1 else ''})"]
    return "\n".join(lines) + "\n"


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    """Text XML 1.0 can hold: other characters (control characters, lone surrogates, in a
    case name or an error cause) become U+FFFD, so that every JUnit reader parses the file."""
    return _NOT_XML.sub("\ufffd", text)


def junit_xml(results: Sequence[CaseResult]) -> str:
    """JUnit XML: `testsuites` > `testsuite` (one per test file) > `testcase` (one per case),
    with a `failure` listing the differences, or an `error` for a case that could not run."""
    root = ET.Element("testsuites", name="asl test")
    files: dict[str, list[CaseResult]] = {}
    for result in results:
        files.setdefault(result.file, []).append(result)
    totals = _counts(results)
    root.set("tests", str(len(results)))
    root.set("failures", str(totals["failed"]))
    root.set("errors", str(totals["error"]))
    root.set("time", f"{sum(r.seconds for r in results):.3f}")
    for file, cases in files.items():
        counts = _counts(cases)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=_xml(file),
            tests=str(len(cases)),
            failures=str(counts["failed"]),
            errors=str(counts["error"]),
            skipped="0",
            time=f"{sum(r.seconds for r in cases):.3f}",
        )
        for result in cases:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_xml(file),
                name=_xml(result.case.name),
                time=f"{result.seconds:.3f}",
            )
            if result.error is not None:
                message = _xml(result.error)
                error = ET.SubElement(case, "error", message=message, type="CaseError")
                error.text = message
            elif result.mismatches:
                lines = [_xml(mismatch.line()) for mismatch in result.mismatches]
                failure = ET.SubElement(case, "failure", message=lines[0], type="Mismatch")
                failure.text = "\n".join(lines)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def json_report(
    results: Sequence[CaseResult], coverages: Sequence[MachineCoverage] | None = None
) -> dict[str, JSON]:
    """The object `asl test --json` prints."""
    counts = _counts(results)
    out: dict[str, JSON] = {
        "summary": {"cases": len(results), **counts},
        "cases": [
            {
                "file": r.file,
                "name": r.case.name,
                "outcome": r.outcome,
                "status": r.result.status if r.result is not None else None,
                "error": r.error,
                "mismatches": [m.as_json() for m in r.mismatches],
                "execution": r.result.as_json() if r.result is not None else None,
            }
            for r in results
        ],
    }
    if coverages is not None:
        out["coverage"] = coverage_json(coverages)
    return out


def overall(coverages: Sequence[MachineCoverage], kind: str | None = None) -> Totals:
    """Covered and measured elements of every machine together."""
    parts = [c.totals(kind) for c in coverages]
    return Totals(sum(p.covered for p in parts), sum(p.total for p in parts))


def coverage_json(coverages: Sequence[MachineCoverage]) -> dict[str, JSON]:
    """The `--coverage-json` object: every machine's elements and hits, and the totals."""
    total = overall(coverages)
    return {
        "machines": [c.as_json() for c in coverages],
        "total": {
            "covered": total.covered,
            "total": total.total,
            "percent": round(total.percent, 2),
        },
    }


def _cell(totals: Totals) -> str:
    return "-" if totals.total == 0 else f"{totals.covered}/{totals.total}"


def coverage_table(coverages: Sequence[MachineCoverage]) -> str:
    """A table of covered/total per kind of element, a row per machine, then what no case
    covered."""
    header = ["Coverage", *(_HEADINGS[k] for k in KINDS), "Total"]
    rows = []
    for coverage in coverages:
        total = coverage.totals()
        rows.append(
            [
                coverage.label,
                *(_cell(coverage.totals(k)) for k in KINDS),
                f"{_cell(total)} {total.percent:5.1f}%",
            ]
        )
    if len(coverages) > 1:
        total = overall(coverages)
        rows.append(
            [
                "TOTAL",
                *(_cell(overall(coverages, k)) for k in KINDS),
                f"{_cell(total)} {total.percent:5.1f}%",
            ]
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in [header, *rows]
    ]
    for coverage in coverages:
        missing = coverage.uncovered()
        if missing:
            lines += ["", f"Not covered in {coverage.label}:"]
            lines += [f"  {e.kind:<11}  {e.pointer}  ({e.label})" for e in missing]
        unmeasured = [e for e in coverage.elements if not e.measured]
        if unmeasured:
            lines += [
                "",
                f"Not measured in {coverage.label} (inside a Distributed Map, whose child "
                "runs are not in the parent's history): "
                + ", ".join(e.pointer for e in unmeasured),
            ]
    return "\n".join(lines) + "\n"


# -- the annotated definition ------------------------------------------------------------------


def annotate(coverage: MachineCoverage) -> str:
    """The definition, pretty-printed, with a gutter marking each element's line: its hit
    count (`3x`), `!!` when no case exercised it (and a note at the end of the line), `-`
    when it cannot be measured."""
    elements = {e.pointer: e for e in coverage.elements}
    totals = coverage.totals()
    lines = [
        f"# {coverage.label}: {totals.covered} of {totals.total} elements covered "
        f"({totals.percent:.1f}%); !! marks what no case exercised",
    ]
    for pointer, text in _render(dict(coverage.machine.definition)):
        element = elements.get(pointer) if pointer is not None else None
        if element is None:
            lines.append(f"{'':>7}| {text}")
        elif not element.measured:
            lines.append(f"{'-':>6} | {text}")
        elif coverage.hits[element.pointer] == 0:
            lines.append(f"{'!!':>6} | {text}  <- not covered: {element.kind}")
        else:
            lines.append(f"{coverage.hits[element.pointer]:>5}x | {text}")
    return "\n".join(lines) + "\n"


def _short_scalars(items: list[JSON]) -> bool:
    """An array of scalars short enough to stay on one line (`"ErrorEquals": ["A", "B"]`)."""
    return all(not isinstance(item, dict | list) for item in items) and (
        len(json.dumps(items, ensure_ascii=False)) <= 60
    )


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _render(value: JSON) -> Iterator[tuple[str | None, str]]:
    """(JSON pointer of the node the line opens or holds, text) for a 2-space indented dump.
    Closing brackets get no pointer."""
    # An explicit stack of pending lines, so deep definitions never meet the recursion limit.
    stack: list[tuple[str, JSON, str, int, bool] | tuple[None, str]] = [("", value, "", 0, False)]
    while stack:
        item = stack.pop()
        if item[0] is None:
            yield None, item[1]
            continue
        pointer, node, prefix, depth, comma = item
        pad = "  " * depth
        tail = "," if comma else ""
        if isinstance(node, dict) and node:
            yield pointer, f"{pad}{prefix}{{"
            stack.append((None, f"{pad}}}{tail}"))
            entries = list(node.items())
            for index in range(len(entries) - 1, -1, -1):
                key, child = entries[index]
                stack.append(
                    (
                        f"{pointer}/{_escape(key)}",
                        child,
                        f"{json.dumps(key, ensure_ascii=False)}: ",
                        depth + 1,
                        index < len(entries) - 1,
                    )
                )
        elif isinstance(node, list) and node and not _short_scalars(node):
            yield pointer, f"{pad}{prefix}["
            stack.append((None, f"{pad}]{tail}"))
            for index in range(len(node) - 1, -1, -1):
                stack.append(
                    (f"{pointer}/{index}", node[index], "", depth + 1, index < len(node) - 1)
                )
        else:
            yield pointer, f"{pad}{prefix}{json.dumps(node, ensure_ascii=False)}{tail}"
