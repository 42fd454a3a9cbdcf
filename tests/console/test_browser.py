"""The console in a real browser: a machine with Parallel, Map, Choice and a Catch runs while
the page watches (no reload), a running execution is stopped, a broken definition is validated,
and every page passes axe-core's checks with no serious or critical violation.

A `.waitForTaskToken` Task holds the execution where the test wants it: the page shows it
running until the test answers the token through the REST API. Every wait is Playwright's wait
for a selector, never a sleep. Screenshots go to tmp_path, or to docs/console/ with
ASL_UPDATE_SCREENSHOTS=1 (docs/console.md shows them).
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2 as httpx
import pytest

from tests.console.conftest import VIEWPORT

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"

ORDERS = {
    "Comment": "An order: priced line by line while an approval waits on a person",
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.express", "BooleanEquals": True, "Next": "Reject"}],
            "Default": "Fulfil",
        },
        "Fulfil": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "PriceLines",
                    "States": {
                        "PriceLines": {
                            "Type": "Map",
                            "ItemsPath": "$.lines",
                            "ItemProcessor": {
                                "StartAt": "Price",
                                "States": {
                                    "Price": {
                                        "Type": "Task",
                                        "Resource": LAMBDA + "price",
                                        "End": True,
                                    }
                                },
                            },
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Approve",
                    "States": {
                        "Approve": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                            "Parameters": {
                                "FunctionName": "note",
                                "Payload": {"token.$": "$$.Task.Token"},
                            },
                            "End": True,
                        }
                    },
                },
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Refund"}],
            "Next": "Done",
        },
        "Refund": {"Type": "Pass", "Next": "Done"},
        "Reject": {"Type": "Fail", "Error": "Rejected", "Cause": "express orders are refused"},
        "Done": {"Type": "Succeed"},
    },
}
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
INPUT = {"express": False, "lines": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]}


def create_machine(server: str) -> str:
    created = httpx.post(
        f"{server}/v1/machines",
        json={"name": "orders", "definition": json.dumps(ORDERS, indent=2)},
    )
    assert created.status_code == 201, created.text
    arn: str = created.json()["arn"]
    return arn


def task_token(server: str, execution: str) -> str:
    history = httpx.get(f"{server}/v1/executions/{quote(execution, safe='')}/history").json()
    scheduled = [e for e in history["events"] if e["type"] == "TaskScheduled"]
    parameters = json.loads(scheduled[-1]["details"]["taskScheduledEventDetails"]["parameters"])
    token: str = parameters["Payload"]["token"]
    return token


def state(page: Any, name: str, status: str) -> Any:
    """Wait until the graph shows state `name` with `status` (Playwright's wait, no sleep)."""
    return page.wait_for_selector(f'#main g.state[data-name="{name}"].status-{status}')


def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    folder = DOCS if os.environ.get("ASL_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path))
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"])
    assert len(data) > 10_000  # a page, not a blank image


def assert_accessible(page: Any) -> None:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []


def test_an_execution_is_watched_live_from_running_to_caught(
    server: str, page: Any, tmp_path: Path
) -> None:
    create_machine(server)
    page.goto(f"{server}/console")
    page.wait_for_selector("table[aria-label='State machines'] a:text('orders')")
    assert_accessible(page)
    screenshot(page, tmp_path, "machines")
    page.click("text=orders")
    page.wait_for_selector("#main .graph svg g.state[data-name='Fulfil']")
    page.click("g.state[data-name='Approve']")
    highlighted = page.locator(".source .hl").all_inner_texts()
    assert highlighted[0].strip() == '"Approve": {'
    assert_accessible(page)
    screenshot(page, tmp_path, "machine")

    page.fill("#start-name", "order-1")
    page.fill("#start-input", json.dumps(INPUT))
    page.click("text=Start execution")
    state(page, "Approve", "running")
    state(page, "Route", "succeeded")
    state(page, "Fulfil", "running")
    state(page, "Price", "succeeded")
    state(page, "PriceLines", "succeeded")
    page.wait_for_selector("#history td:text-is('TaskScheduled')")
    execution = page.evaluate("decodeURIComponent(location.hash.split('/')[2])")
    assert execution.endswith(":execution:orders:order-1")
    url_before = page.url
    screenshot(page, tmp_path, "execution-running")

    failed = httpx.post(
        f"{server}/v1/callbacks/failure",
        json={"taskToken": task_token(server, execution), "error": "Declined", "cause": "no"},
    )
    assert failed.status_code == 204, failed.text
    state(page, "Approve", "failed")
    state(page, "Fulfil", "caught")
    state(page, "Refund", "succeeded")
    state(page, "Done", "succeeded")
    page.wait_for_selector("#execution-status [data-status='SUCCEEDED']")
    assert page.url == url_before  # the same page all along: it was never reloaded
    assert page.locator("g.state[data-name='Reject']").get_attribute("class") == (
        "state status-not-run"
    )

    page.click("g.state[data-name='Approve']")
    page.wait_for_selector("#state-details .state-error")
    assert page.inner_text("#state-details .state-error") == "Declined"
    page.click("g.state[data-name='PriceLines']", position={"x": 12, "y": 12})  # its header
    assert page.inner_text("#map-iterations") == "Map iterations: 2 started, 2 succeeded, 0 failed"
    assert json.loads(page.inner_text("#state-details .state-output")) == [
        {"sku": "a", "cents": 500},
        {"sku": "b", "cents": 250},
    ]
    types = page.locator("#history tbody tr td:nth-child(2)").all_inner_texts()
    assert types[0] == "ExecutionStarted"
    assert types[-1] == "ExecutionSucceeded"
    assert "MapIterationStarted" in types
    assert "TaskFailed" in types
    assert_accessible(page)
    screenshot(page, tmp_path, "execution")


ASK_TWICE = {
    "StartAt": "Ask",
    "States": {
        name: {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "note", "Payload": {"token.$": "$$.Task.Token"}},
            **following,
        }
        for name, following in (("Ask", {"Next": "AskAgain"}), ("AskAgain", {"End": True}))
    },
}


def test_each_poll_appends_the_new_events_only(server: str, page: Any) -> None:
    """Driven a step at a time by task tokens: the rows already shown stay (the same nodes),
    new ones are appended in order, and every poll after the first asks for what is past the
    last event the page has."""
    created = httpx.post(f"{server}/v1/machines", json={"name": "ask", "definition": ASK_TWICE})
    assert created.status_code == 201, created.text
    started = httpx.post(f"{server}/v1/machines/ask/executions", json={"name": "a"})
    execution = started.json()["arn"]
    polls: list[str] = []
    page.on(
        "request", lambda r: polls.append(r.url) if "/console/api/executions/" in r.url else None
    )
    page.goto(f"{server}/console#/executions/{quote(execution, safe='')}")
    page.wait_for_selector("#history tr[data-event='5'] td:text-is('TaskSubmitted')")
    state(page, "Ask", "running")
    # a mark on the rows shown: a row drawn again would lose it
    page.evaluate("document.querySelectorAll('#history tbody tr').forEach(r => r.kept = true)")

    def rows() -> list[tuple[str, str]]:
        cells = page.locator("#history tbody tr td:nth-child(-n+2)").all_inner_texts()
        return list(zip(cells[0::2], cells[1::2], strict=True))

    answered = httpx.post(
        f"{server}/v1/callbacks/success",
        json={"taskToken": task_token(server, execution), "output": {"n": 1}},
    )
    assert answered.status_code == 204, answered.text
    page.wait_for_selector("#history tr[data-event='11'] td:text-is('TaskSubmitted')")
    state(page, "Ask", "succeeded")
    state(page, "AskAgain", "running")
    assert (
        page.evaluate(
            "[...document.querySelectorAll('#history tbody tr')].map(r => r.kept === true)"
        )
        == [True] * 5 + [False] * 6
    )

    answered = httpx.post(
        f"{server}/v1/callbacks/success",
        json={"taskToken": task_token(server, execution), "output": {"n": 2}},
    )
    assert answered.status_code == 204, answered.text
    page.wait_for_selector("#execution-status [data-status='SUCCEEDED']")
    state(page, "AskAgain", "succeeded")
    assert rows() == [
        ("1", "ExecutionStarted"),
        ("2", "TaskStateEntered"),
        ("3", "TaskScheduled"),
        ("4", "TaskStarted"),
        ("5", "TaskSubmitted"),
        ("6", "TaskSucceeded"),
        ("7", "TaskStateExited"),
        ("8", "TaskStateEntered"),
        ("9", "TaskScheduled"),
        ("10", "TaskStarted"),
        ("11", "TaskSubmitted"),
        ("12", "TaskSucceeded"),
        ("13", "TaskStateExited"),
        ("14", "ExecutionSucceeded"),
    ]
    # the last polls brought AskAgain only: Ask's details are still those of its own poll
    page.click("g.state[data-name='Ask']")
    page.wait_for_selector("#state-details .state-output")
    assert json.loads(page.inner_text("#state-details .state-output")) == {"n": 1}
    afters = [int(url.rsplit("after=", 1)[1]) if "after=" in url else 0 for url in polls]
    assert afters[0] == 0
    assert all(a > 0 for a in afters[1:])  # (the page may open before event 5 is written)
    assert afters[1:] == sorted(afters[1:])
    assert {5, 11} <= set(afters)


def test_a_running_execution_is_stopped_and_listed(server: str, page: Any, tmp_path: Path) -> None:
    arn = create_machine(server)
    for index in range(3):
        started = httpx.post(
            f"{server}/v1/machines/orders/executions",
            json={"name": f"batch-{index}", "input": INPUT},
        )
        assert started.status_code == 201
    execution = started.json()["arn"]
    page.goto(f"{server}/console#/executions/{quote(execution, safe='')}")
    state(page, "Approve", "running")
    page.click("#stop")
    page.wait_for_selector("#execution-status [data-status='ABORTED']")
    state(page, "Approve", "cancelled")
    page.wait_for_selector("#history td:text-is('ExecutionAborted')")
    assert page.is_disabled("#stop")

    # Redrive: the same page runs it again from the stopped state, polling once more
    page.click("#redrive")
    page.wait_for_selector("#execution-status [data-status='RUNNING']")
    state(page, "Approve", "running")
    page.wait_for_selector("#history td:text-is('ExecutionRedriven')")
    assert page.is_enabled("#stop")
    assert page.is_disabled("#redrive")

    page.goto(f"{server}/console#/machines/{quote(arn, safe='')}")
    page.wait_for_selector("#executions tbody tr")
    assert page.locator("#executions tbody tr").count() == 3
    # batch-2 was stopped, then redriven: none is ABORTED now, all three run
    page.select_option("#status-filter", "ABORTED")
    page.wait_for_selector("text=0 executions shown.")
    assert page.locator("#executions tbody tr").count() == 0
    page.select_option("#status-filter", "RUNNING")
    page.wait_for_selector("text=3 executions shown.")
    assert page.locator("#executions tbody tr").count() == 3
    page.select_option("#status-filter", "")
    page.fill("#name-search", "BATCH-1")
    page.click("form[role='search'] button")
    page.wait_for_selector("#executions tbody tr:only-child a:text('batch-1')")
    assert_accessible(page)


def test_thousands_of_executions_are_paged(server: str, page: Any) -> None:
    created = httpx.post(f"{server}/v1/machines", json={"name": "bulk", "definition": PASS})
    assert created.status_code == 201
    for index in range(120):
        started = httpx.post(
            f"{server}/v1/machines/bulk/executions", json={"name": f"run-{index:03}", "input": {}}
        )
        assert started.status_code == 201
    page.goto(f"{server}/console#/machines/{quote(created.json()['arn'], safe='')}")
    page.wait_for_selector("#executions tbody tr:nth-child(50)")
    assert page.locator("#executions tbody tr").count() == 50
    assert page.locator("#executions tbody tr:first-child a").inner_text() == "run-119"
    page.click("#next-page")
    page.wait_for_selector("#executions tbody tr:nth-child(100)")
    page.click("#next-page")
    page.wait_for_selector("#executions tbody tr:nth-child(120)")
    assert page.locator("#executions tbody tr:last-child a").inner_text() == "run-000"
    assert page.is_hidden("#next-page")
    page.fill("#name-search", "run-11")
    page.click("form[role='search'] button")
    page.wait_for_selector("#executions tbody tr:nth-child(10)")
    page.wait_for_selector("#executions tbody tr:nth-child(11)", state="detached")
    assert page.locator("#executions tbody tr").count() == 10


def test_a_broken_definition_shows_its_located_diagnostic(
    server: str, page: Any, tmp_path: Path
) -> None:
    broken = json.loads(json.dumps(ORDERS))
    broken["States"]["Refund"]["Next"] = "Nowhere"
    page.goto(f"{server}/console#/validate")
    page.fill("#definition", json.dumps(broken, indent=2))
    page.click("#validate")
    page.wait_for_selector("#diagnostics li")
    assert page.inner_text("#diagnostics li").startswith(
        "ERROR MISSING_TRANSITION_TARGET at /States/Refund/Next: Missing 'Next' target: Nowhere"
    )
    assert page.locator(".source .diag").all_inner_texts()[0].strip() == '"Next": "Nowhere"'
    # the source scrolled to the diagnostic's line
    assert page.locator(".source .diag").first.is_visible()
    box = page.locator(".source .diag").first.bounding_box()
    frame = page.locator("#validation .source").bounding_box()
    assert frame["y"] <= box["y"] <= frame["y"] + frame["height"]
    page.wait_for_selector("#validation g.state[data-name='Refund']")
    assert_accessible(page)
    screenshot(page, tmp_path, "validate")


def test_a_token_is_asked_for_and_kept_for_the_tab(browser: Any, tmp_path: Path) -> None:
    from tests.serve_process import serve_process

    with serve_process(["--token", "console-secret"]) as url:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.goto(f"{url}/console")
        page.wait_for_selector("#token-input")
        page.wait_for_selector("[role='alert']:has-text('MissingAuthenticationTokenException')")
        page.fill("#token-input", "console-secret")
        page.click("text=Use token")
        page.wait_for_selector("text=No state machines yet")
        assert page.evaluate("sessionStorage.getItem('asl-console-token')") == "console-secret"
        context.close()
