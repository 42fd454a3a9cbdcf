"""Lambda handlers for the example state machines in this folder.

Every top-level function has the AWS Lambda Python signature `handler(event, context)` and is
referenced from a definition either as `arn:aws:lambda:us-east-1:111111111111:function:<name>`
or by its bare name as the `FunctionName` of `arn:aws:states:::lambda:invoke`.

The handlers are deterministic on purpose: no randomness, clock, network or sleeps, so a run
with `--virtual-time` always produces the same output. Where a machine must exercise Retry,
the state passes `$$.State.RetryCount` in its Parameters as `attempt` and the handler fails
on the early attempts; a handler cannot count invocations itself because it keeps no state.

A raised exception becomes the Lambda error envelope: the ASL error name is the exception's
class name (`InventoryLockTimeout`, `CardDeclined`, ...) and the cause is the JSON text
`{"errorMessage": str(exc), "errorType": ..., "stackTrace": [...]}`.
"""

from __future__ import annotations

from typing import Any

Event = dict[str, Any]

# --- errors the handlers raise (the class name is the ASL error name) -----------------------


class InvalidOrder(Exception):
    """The order is malformed; not worth retrying."""


class InventoryLockTimeout(Exception):
    """Transient: the inventory row lock could not be taken in time; retrying usually works."""


class OutOfStock(Exception):
    """Permanent: a SKU cannot be reserved."""


class PaymentDeclined(Exception):
    """The payment provider refused the charge."""


class CardDeclined(Exception):
    """The card issuer refused the charge."""


class ReceiptServiceUnavailable(Exception):
    """The receipt channel (e.g. the SMS gateway) is down."""


class UpstreamUnavailable(Exception):
    """Transient HTTP 503 from an upstream API."""


class InvalidRecord(Exception):
    """An ETL input record is missing a required field."""


# --- order_processing ------------------------------------------------------------------------

_OUT_OF_STOCK_SKUS = frozenset({"SKU-DISCONTINUED"})


def validate_order(event: Event, context: object) -> Event:
    """Checks the order's shape and computes its total in cents."""
    order_id = event.get("orderId")
    items = event.get("items") or []
    if not order_id or not items:
        raise InvalidOrder("order must have an orderId and at least one item")
    for item in items:
        if item.get("quantity", 0) <= 0:
            raise InvalidOrder(f"item {item.get('sku')} has a non-positive quantity")
    total = sum(item["quantity"] * item["unitPriceCents"] for item in items)
    return {
        "valid": True,
        "itemCount": sum(item["quantity"] for item in items),
        "totalCents": total,
    }


def reserve_inventory(event: Event, context: object) -> Event:
    """Reserves every line; fails transiently on attempt 0 when the input asks for it."""
    if event.get("simulateTransientFailure") and event.get("attempt") == 0:
        raise InventoryLockTimeout(f"inventory lock busy for order {event['orderId']}")
    skus = [item["sku"] for item in event["items"]]
    missing = [sku for sku in skus if sku in _OUT_OF_STOCK_SKUS]
    if missing:
        raise OutOfStock(f"cannot reserve {', '.join(missing)}")
    return {
        "reservationId": f"RSV-{event['orderId']}",
        "skus": skus,
        "attempt": event.get("attempt", 0),
    }


def release_inventory(event: Event, context: object) -> Event:
    """Compensation: releases whatever the order had reserved (idempotent)."""
    return {"released": True, "orderId": event["orderId"]}


def charge_payment(event: Event, context: object) -> Event:
    """Charges the order total against the payment token."""
    token = event["paymentToken"]
    if token.startswith("tok_declined"):
        raise PaymentDeclined(f"payment token {token} was declined")
    return {
        "chargeId": f"ch_{event['orderId']}",
        "amountCents": event["amountCents"],
        "currency": event.get("currency", "USD"),
        "status": "CAPTURED",
    }


# --- map_fanout ----------------------------------------------------------------------------


def price_line_item(event: Event, context: object) -> Event:
    """Prices one order line (one Map iteration)."""
    item = event["item"]
    return {
        "line": event["index"] + 1,
        "sku": item["sku"],
        "quantity": item["quantity"],
        "lineTotalCents": item["quantity"] * item["unitPriceCents"],
        "warehouse": item["warehouse"],
        "currency": event["currency"],
    }


# --- parallel_join -------------------------------------------------------------------------

_PRICE_BOOK_CENTS = {"LAMP-OAK-01": 4999, "DESK-WAL-02": 28900, "CHAIR-ERG-03": 17450}
_STOCK = {"LAMP-OAK-01": ("DUB-1", 42), "DESK-WAL-02": ("FRA-2", 3), "CHAIR-ERG-03": ("DUB-1", 0)}
_SHIPPING_BASE_CENTS = {"IE": 499, "DE": 899, "US": 1999}


def lookup_price(event: Event, context: object) -> Event:
    """Price-book lookup for one SKU."""
    sku = event["sku"]
    unit = _PRICE_BOOK_CENTS[sku]
    return {"sku": sku, "unitPriceCents": unit, "totalCents": unit * event["quantity"]}


def lookup_stock(event: Event, context: object) -> Event:
    """Stock level for one SKU."""
    warehouse, available = _STOCK[event["sku"]]
    return {
        "warehouse": warehouse,
        "available": available,
        "inStock": available >= event["quantity"],
    }


def quote_shipping(event: Event, context: object) -> Event:
    """Flat-rate carrier quote by destination country, plus 150 cents per extra unit."""
    country = event["destination"]["country"]
    cost = _SHIPPING_BASE_CENTS.get(country, 2999) + 150 * (event["quantity"] - 1)
    return {"carrier": "PostNord" if country == "DE" else "AnPost", "costCents": cost, "etaDays": 3}


# --- wait_reminder -------------------------------------------------------------------------


def send_reminder(event: Event, context: object) -> Event:
    """Sends reminder number `reminderNumber` to the patient (pretend)."""
    number = event["reminderNumber"]
    return {
        "delivered": True,
        "channel": event["channel"],
        "messageId": f"msg-{event['appointmentId']}-{number}",
    }


def open_check_in(event: Event, context: object) -> Event:
    """Opens online check-in once the appointment time is reached."""
    return {"checkInOpen": True, "appointmentId": event["appointmentId"]}


# --- callback_approval ---------------------------------------------------------------------


def request_approval(event: Event, context: object) -> Event:
    """Sends the approver a link carrying the task token (the reply comes by callback)."""
    return {"notified": event["approver"], "tokenLength": len(event["token"])}


def escalate_approval(event: Event, context: object) -> Event:
    """Notifies the approver's manager that a request timed out."""
    return {"escalatedTo": event["manager"], "requestId": event["requestId"]}


# --- etl_batch -----------------------------------------------------------------------------

_REQUIRED_FIELDS = ("id", "email", "country")


def transform_record(event: Event, context: object) -> Event:
    """Normalises one CRM record; raises InvalidRecord when a required field is missing."""
    record = event["record"]
    missing = [name for name in _REQUIRED_FIELDS if not record.get(name)]
    if missing:
        raise InvalidRecord(f"record {record.get('id', '?')} is missing {', '.join(missing)}")
    return {
        "id": record["id"],
        "email": record["email"].strip().lower(),
        "country": record["country"].upper(),
        "batchId": event["batchId"],
        "status": "LOADED",
    }


# --- retry_backoff -------------------------------------------------------------------------


def flaky_fetch(event: Event, context: object) -> Event:
    """Fails with UpstreamUnavailable on attempts 0 and 1, succeeds on attempt 2."""
    attempt = event["attempt"]
    if attempt < 2:
        raise UpstreamUnavailable(f"503 from {event['url']} on attempt {attempt}")
    return {
        "statusCode": 200,
        "attempt": attempt,
        "body": {"base": event["base"], "rates": {"EUR": 0.92, "GBP": 0.79}},
    }


# --- error_handling ------------------------------------------------------------------------

_DECLINED_TOKENS = frozenset({"tok_visa_insufficient_funds", "tok_mc_stolen"})


def charge_card(event: Event, context: object) -> Event:
    """Charges one card; declined tokens raise CardDeclined."""
    card = event["card"]
    if card["token"] in _DECLINED_TOKENS:
        raise CardDeclined(f"card ending {card['last4']} was declined: {card['token'][4:]}")
    return {
        "chargeId": f"ch_{event['orderId']}_{card['last4']}",
        "cardLast4": card["last4"],
        "amountCents": event["amountCents"],
    }


def send_receipt(event: Event, context: object) -> Event:
    """Sends the receipt; the SMS gateway is in maintenance, so `sms` always fails."""
    channel = event["channel"]
    if channel == "sms":
        raise ReceiptServiceUnavailable("SMS gateway is in maintenance mode")
    return {"sent": True, "channel": channel}


def record_ledger_entry(event: Event, context: object) -> Event:
    """Books the charge in the ledger."""
    return {"ledgerEntry": f"LE-{event['chargeId']}", "amountCents": event["amountCents"]}


# --- distributed_map -----------------------------------------------------------------------


def resize_image(event: Event, context: object) -> Event:
    """Pretends to write a thumbnail of one S3 object."""
    width = event["targetWidth"]
    return {
        "source": f"s3://{event['bucket']}/{event['key']}",
        "thumbnail": f"s3://{event['bucket']}/thumbnails/{width}/{event['key']}",
        "width": width,
    }


# --- express_enrichment --------------------------------------------------------------------

_GEO_BY_PREFIX = (
    ("81.2.", {"country": "GB", "city": "London"}),
    ("91.64.", {"country": "DE", "city": "Berlin"}),
    ("203.0.113.", {"country": "AU", "city": "Sydney"}),
)


def geo_lookup(event: Event, context: object) -> Event:
    """Maps an IPv4 address to a country and city by prefix (static table)."""
    ip = event["ip"]
    for prefix, geo in _GEO_BY_PREFIX:
        if ip.startswith(prefix):
            return dict(geo)
    return {"country": "US", "city": "Unknown"}


def score_lead(event: Event, context: object) -> Event:
    """Scores a sign-up from company size, e-mail domain and country."""
    score = min(event["employees"] // 10, 50)
    if not event["emailDomain"].endswith(("gmail.com", "outlook.com", "yahoo.com")):
        score += 30
    if event["country"] in {"DE", "GB", "US"}:
        score += 20
    tier = "hot" if score >= 70 else "warm" if score >= 40 else "cold"
    return {"score": score, "tier": tier}


# --- lambda_invoke_integration -------------------------------------------------------------


def build_invoice(event: Event, context: object) -> Event:
    """Totals the invoice lines and adds tax (basis points, rounded half up)."""
    subtotal = sum(line["quantity"] * line["unitPriceCents"] for line in event["lines"])
    tax = (subtotal * event["taxRateBasisPoints"] + 5000) // 10000
    return {
        "invoiceNumber": f"INV-{event['customerId']}-{event['period']}",
        "lineCount": len(event["lines"]),
        "subtotalCents": subtotal,
        "taxCents": tax,
        "totalCents": subtotal + tax,
    }
