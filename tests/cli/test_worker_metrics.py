"""`asl worker --metrics-port N`: a real worker process serves its metrics over HTTP; the
counts follow the executions it drives."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx2
from prometheus_client.parser import text_string_to_metric_families

from engine.store.open import open_store
from tests.cli.harness import ASL, FUNCTIONS, Cli, poll
from tests.cli.test_worker import status_of


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def scrape(url: str) -> dict[str, float] | None:
    try:
        text = httpx2.get(url, timeout=5).text
    except httpx2.TransportError:
        return None  # not listening yet
    return {
        f"{s.name}{sorted(s.labels.values())}": s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_worker_serves_the_metrics_of_what_it_drives(cli: Cli, tmp_path: Path) -> None:
    port = free_port()
    worker = subprocess.Popen(
        [ASL, "worker", "--functions", FUNCTIONS, "--metrics-port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = open_store(cli.store)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        poll(lambda: scrape(url), "the worker to serve its metrics")
        done = [cli.start_detached("echo", f"run-{i}", "--input", "{}") for i in range(3)]
        for arn in done:
            poll(lambda arn=arn: status_of(store, arn) == "SUCCEEDED", "the worker to finish")
        machine_arn = done[0].rsplit(":", 1)[0].replace(":execution:", ":stateMachine:")
        got = poll(lambda: scrape(url), "a scrape")
        assert got[f"asl_executions_succeeded_total['{machine_arn}']"] == 3
        assert got["asl_queue_lag_seconds_count[]"] == 3
        assert got["asl_open_executions[]"] == 0
    finally:
        worker.terminate()
        worker.communicate(timeout=60)
        store.close()
