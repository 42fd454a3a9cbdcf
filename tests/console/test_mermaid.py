"""`asl graph --format mermaid` of every asl_examples machine parses with Mermaid itself.

Mermaid's own parser (the npm package, pinned in .ci/run, installed under .cache/) runs in the
browser the console tests use. A deliberately broken chart must fail, so a parser that accepts
anything would not pass this test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.definition.parse import parse_text
from engine.graph import draw

REPO = Path(__file__).resolve().parents[2]
MERMAID_VERSION = "12.3.0"
MERMAID = REPO / ".cache" / "npm" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
EXAMPLES = sorted((REPO / "asl_examples").rglob("*.asl.json"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mermaid_page(browser: Any) -> Any:
    if not MERMAID.is_file():
        pytest.skip(
            f"mermaid@{MERMAID_VERSION} is not installed in .cache/npm (.ci/run does, with npm)"
        )
    context = browser.new_context()
    page = context.new_page()
    page.set_content("<!doctype html><title>mermaid</title>")
    page.add_script_tag(path=str(MERMAID))
    page.evaluate("mermaid.initialize({startOnLoad: false})")
    yield page
    context.close()


PARSE = """async (text) => {
  try { await mermaid.parse(text); return "ok"; }
  catch (error) { return String(error.message || error); }
}"""


def test_the_pinned_mermaid_is_the_one_installed(mermaid_page: Any) -> None:
    package = MERMAID.parents[1] / "package.json"
    assert f'"version": "{MERMAID_VERSION}"' in package.read_text("utf-8")
    assert mermaid_page.evaluate(PARSE, "flowchart TD\n  a -->|x") != "ok"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_s_mermaid_parses(mermaid_page: Any, path: Path) -> None:
    text = draw(parse_text(path.read_text("utf-8")), "mermaid")
    assert mermaid_page.evaluate(PARSE, text) == "ok"


def test_names_with_quotes_hashes_and_statuses_parse(mermaid_page: Any) -> None:
    definition = {
        "StartAt": 'Say "hi" #1',
        "States": {
            'Say "hi" #1': {"Type": "Pass", "Next": "P"},
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "A;b", "States": {"A;b": {"Type": "Succeed"}}}],
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "End": True,
            },
        },
    }
    events = [
        {"id": 1, "previousEventId": 0, "type": "ExecutionStarted"},
        {
            "id": 2,
            "previousEventId": 1,
            "type": "PassStateEntered",
            "stateEnteredEventDetails": {"name": 'Say "hi" #1'},
        },
    ]
    assert mermaid_page.evaluate(PARSE, draw(definition, "mermaid", events)) == "ok"
