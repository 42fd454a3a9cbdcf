"""`asl test [PATH...]`: run the cases of test files and report, with coverage.

Owns: the arguments and outputs of `asl test` (docs/cli.md, "asl test"): which files a PATH
names (a file, or every `*.test.yaml`, `*.test.yml` and `*.test.json` under a folder), and the
exit status: 0 when every case passed (and coverage reached `--fail-under`), 1 when a case
failed or could not run or coverage fell short, 2 for a usage error or a test file that is
invalid (every problem is listed, located by file, case and field, and nothing runs). Must
never: decide semantics or compute anything itself (engine/asltest/ does).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from engine.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, err

if TYPE_CHECKING:
    from engine.asltest.coverage import MachineCoverage
    from engine.asltest.files import TestFile
    from engine.asltest.runner import CaseResult

TEST_FILE_SUFFIXES = (".test.yaml", ".test.yml", ".test.json")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    test = commands.add_parser(
        "test",
        help="run the cases of test files (*.test.yaml) and report, with coverage",
        description="Run the cases of test files on the embedded engine (virtual time) and "
        "report. Exit status 0 all passed, 1 a case failed (or coverage is under "
        "--fail-under), 2 usage error or invalid test file.",
    )
    test.add_argument(
        "paths",
        metavar="PATH",
        nargs="*",
        help="test files, or folders searched for *.test.yaml, *.test.yml and *.test.json "
        "(default: the current folder)",
    )
    test.add_argument("--json", action="store_true", help="print one JSON object")
    test.add_argument("--junit-xml", metavar="FILE", help="also write a JUnit XML report")
    test.add_argument(
        "--coverage", action="store_true", help="print the coverage table after the report"
    )
    test.add_argument("--coverage-json", metavar="FILE", help="write coverage as JSON")
    test.add_argument(
        "--coverage-annotate",
        metavar="FILE",
        help="write each definition with every element marked by its hit count, !! if missed",
    )
    test.add_argument(
        "--fail-under",
        metavar="PCT",
        type=float,
        help="exit 1 when the total coverage (all elements of all machines) is below PCT",
    )
    test.add_argument(
        "--time-limit",
        metavar="SECONDS",
        type=float,
        default=60.0,
        help="real time one case may take (default 60; virtual time is free)",
    )
    test.add_argument(
        "--schema", action="store_true", help="print the test-file JSON Schema and exit"
    )
    test.set_defaults(handler=_test)


def find_test_files(paths: list[str]) -> list[str]:
    """The test files the PATHs name, each once, folders searched in sorted order."""
    found: list[str] = []
    for path in paths or ["."]:
        if os.path.isdir(path):
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "node_modules")
                found += [
                    os.path.join(folder, name)
                    for name in sorted(files)
                    if name.endswith(TEST_FILE_SUFFIXES)
                ]
        elif os.path.exists(path):
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    unique = list(dict.fromkeys(os.path.normpath(p) for p in found))
    if not unique:
        where = ", ".join(paths) if paths else "the current folder"
        raise UsageError(
            f"no test files in {where} (looked for names ending in {', '.join(TEST_FILE_SUFFIXES)})"
        )
    return unique


def _test(args: argparse.Namespace) -> int:
    if args.schema:
        from engine.asltest.files import TEST_FILE_SCHEMA

        print(json.dumps(TEST_FILE_SCHEMA, indent=2))
        return EXIT_OK
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        raise UsageError(f"--fail-under wants a percentage from 0 to 100, got {args.fail_under:g}")
    if args.time_limit <= 0:
        raise UsageError(
            f"--time-limit wants a positive number of seconds, got {args.time_limit:g}"
        )
    from engine.asltest.files import TestFileInvalid, load_test_file

    paths = find_test_files(args.paths)
    loaded: list[TestFile] = []
    problems: list[str] = []
    for path in paths:
        try:
            loaded.append(load_test_file(path))
        except TestFileInvalid as exc:
            problems += exc.problems
    if problems:
        for problem in problems:
            err(problem)
        plural = "s" if len(problems) != 1 else ""
        err(f"asl test: {len(problems)} problem{plural} in the test files; nothing ran")
        return EXIT_USAGE
    results, coverages = _run(loaded, args.time_limit)
    return _report(args, loaded, results, coverages)


def _run(
    files: list[TestFile], time_limit: float
) -> tuple[list[CaseResult], list[MachineCoverage]]:
    import asyncio

    from engine.asltest.coverage import MachineCoverage
    from engine.asltest.runner import run_file

    by_machine: dict[str, MachineCoverage] = {}
    for test_file in files:
        if test_file.machine_path not in by_machine:
            by_machine[test_file.machine_path] = MachineCoverage(
                test_file.machine_path, test_file.machine
            )

    async def run_all() -> list[CaseResult]:
        results: list[CaseResult] = []
        for test_file in files:
            coverage = by_machine[test_file.machine_path]
            results += await run_file(test_file, coverage, time_limit=time_limit)
        return results

    return asyncio.run(run_all()), list(by_machine.values())


def _encodable(text: str) -> str:
    """`text` with anything UTF-8 cannot encode (a lone surrogate a handler returned) as `?`."""
    return text.encode("utf-8", errors="replace").decode("utf-8")


def _write(path: str, text: str, what: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(_encodable(text))
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the {what}: {exc.strerror}") from None


def _report(
    args: argparse.Namespace,
    files: list[TestFile],
    results: list[CaseResult],
    coverages: list[MachineCoverage],
) -> int:
    from engine.asltest.report import (
        annotate,
        coverage_json,
        coverage_table,
        json_report,
        junit_xml,
        overall,
        text_report,
    )

    wants_coverage = bool(
        args.coverage or args.coverage_json or args.coverage_annotate or args.fail_under is not None
    )
    if args.junit_xml:
        _write(args.junit_xml, junit_xml(results), "JUnit XML report")
    if args.coverage_json:
        _write(
            args.coverage_json, json.dumps(coverage_json(coverages), indent=2) + "\n", "coverage"
        )
    if args.coverage_annotate:
        _write(args.coverage_annotate, "\n".join(annotate(c) for c in coverages), "annotation")
    if args.json:
        report = json_report(results, coverages if wants_coverage else None)
        print(_encodable(json.dumps(report, ensure_ascii=False)))
    else:
        machines = {f.path: f.machine_name for f in files}
        sys.stdout.write(_encodable(text_report(results, machines)))
        if args.coverage:
            sys.stdout.write(_encodable("\n" + coverage_table(coverages)))
    code = EXIT_OK if all(r.passed for r in results) else EXIT_FAILED
    if args.fail_under is not None:
        total = overall(coverages)
        if total.percent < args.fail_under:
            err(
                f"asl test: coverage {total.percent:.1f}% ({total.covered} of {total.total} "
                f"elements) is below --fail-under {args.fail_under:g}%"
            )
            code = EXIT_FAILED
    return code
