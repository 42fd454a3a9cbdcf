"""`asl graph`: drawing files and executions, and its exit statuses (docs/cli.md)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.cli.harness import INVALID_LINES, REPO, Cli, assert_one_asl_line

SVG = "{http://www.w3.org/2000/svg}"


def test_svg_to_stdout_and_to_a_file(cli: Cli) -> None:
    path = cli.machine("hello")
    drawn = cli("graph", path)
    assert (drawn.code, drawn.err) == (0, "")
    root = ET.fromstring(drawn.out)
    assert [g.get("data-name") for g in root.iter(SVG + "g") if g.get("data-name")] == ["Hello"]
    written = cli("graph", path, "--format", "mermaid", "-o", "out.mmd")
    assert (written.code, written.out, written.err) == (0, "", "")
    assert (cli.folder / "out.mmd").read_text("utf-8").startswith("flowchart TD\n")


def test_an_invalid_definition_prints_its_diagnostics_and_exits_1(cli: Cli) -> None:
    path = cli.machine("invalid")
    drawn = cli("graph", path, "--format", "dot")
    assert drawn.code == 1
    assert drawn.lines() == [
        *(line.format(path=path) for line in INVALID_LINES),
        f"{path}: INVALID (2 errors, 0 warnings)",
    ]


def test_usage_errors_exit_2(cli: Cli) -> None:
    assert "give a FILE to draw" in assert_one_asl_line(cli("graph"))
    assert "missing.json: no such file" in assert_one_asl_line(cli("graph", "missing.json"))
    unknown = cli("graph", "--execution", "arn:aws:states:us-east-1:111111111111:execution:x:y")
    assert unknown.code == 2
    assert unknown.err.startswith("asl: ExecutionDoesNotExist")
    bad_format = cli("graph", cli.machine("hello"), "--format", "png")
    assert bad_format.code == 2


def test_an_execution_is_drawn_with_each_state_s_status(cli: Cli) -> None:
    arn = cli.start_detached("fails", "one")
    cli.worker_until_idle()
    drawn = cli("graph", "--execution", arn, "--store", cli.store)
    assert (drawn.code, drawn.err) == (0, "")
    root = ET.fromstring(drawn.out)
    states = {
        g.get("data-name"): g.get("class") for g in root.iter(SVG + "g") if g.get("data-name")
    }
    assert set(states.values()) == {"state status-failed"}


EXAMPLES = sorted((REPO / "asl_examples").rglob("*.asl.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_is_drawn_by_the_command(cli: Cli, path: Path) -> None:
    from engine.definition.parse import parse_text
    from engine.graph.model import build_graph

    drawn = cli("graph", str(path), "--format", "svg")
    assert (drawn.code, drawn.err) == (0, "")
    states = [
        g for g in ET.fromstring(drawn.out).iter(SVG + "g") if "state" in g.get("class", "").split()
    ]
    expected = build_graph(parse_text(path.read_text("utf-8"))).states()
    assert len(states) == len(expected)
