"""The sample project's Lambda handlers (`handler(event, context)`), each call recorded."""

from engine.testing import CallLedger

ledger = CallLedger()  # its file comes from ASL_TEST_LEDGER (the asl_call_ledger fixture)
failures_left = {"flaky": 1}  # the provider fails once for card "flaky", then recovers


class ProviderUnavailable(Exception):
    pass


class CardDeclined(Exception):
    pass


@ledger.recorded
def charge(event, context):
    if event["card"] == "0000":
        raise CardDeclined("card ending 0000: insufficient funds")
    if failures_left.get(event["card"], 0) > 0:
        failures_left[event["card"]] -= 1
        raise ProviderUnavailable("the payment provider timed out")
    return {"chargeId": f"ch-{event['orderId']}", "amount": event["amount"]}


@ledger.recorded
def confirm(event, context):
    return {"orderId": event["orderId"], "charged": event["payment"]["chargeId"]}


@ledger.recorded
def request_approval(event, context):
    return {"sent": True}  # a real one would e-mail a link carrying event["token"]
