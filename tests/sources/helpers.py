"""What the queue source tests share: a machine that fails on demand, and reading results."""

from __future__ import annotations

import json
import socket

from engine.service import Service

MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:orders"
# Fails when the input says so, succeeds otherwise.
ORDERS = json.dumps(
    {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.fail", "IsPresent": True, "Next": "Boom"}],
                "Default": "Done",
            },
            "Boom": {"Type": "Fail", "Error": "Order.Rejected", "Cause": "asked to"},
            "Done": {"Type": "Succeed"},
        },
    }
)


async def executions(service: Service) -> dict[str, str]:
    """name -> status of every execution of the machine."""
    found, _ = await service.list_executions(MACHINE, limit=1000)
    return {e.name: e.status for e in found}


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
