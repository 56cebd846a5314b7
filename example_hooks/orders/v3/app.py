"""Orders API: create an order, read it, cancel it.

Version 3, a build that passes both hooks and still breaks in production: it reserves stock for
each item before storing an order, and its stock table lists only the books, mugs and pens of the
first catalogue. An order for any other item (a poster, say) raises ``KeyError``: Lambda counts
a function error, API Gateway answers 502. The hooks' recorded events order books, mugs and pens only,
so the PreTraffic hook approves it; the recorded traffic that ``hookkit simulate`` replays
through the alias has posters in it, and the alias's Errors alarm rolls the release back
during the canary (``make demo``, release 3). ``diff v2/app.py v3/app.py`` shows the change.

One handler serves two callers: API Gateway (REST API, Lambda proxy integration, payload v1) and
direct invocations such as ``{"action": "status", "orderId": "ORD-1"}`` from other services, so
hook checks can replay recorded events of both kinds. A direct invocation answers the order
itself, and a refusal raises, which Lambda reports as a function error named after the exception.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

# Orders live in memory, seeded with ORD-1, so the example deploys and runs anywhere with no table
# to create. Each Lambda execution environment holds its own copy: an order created in one is
# unknown to the others. A real service keeps its orders in DynamoDB.
ORDERS: dict[str, dict[str, Any]] = {
    "ORD-1": {
        "orderId": "ORD-1",
        "customerId": "CUST-1",
        "items": [{"sku": "BOOK-1984", "quantity": 1}],
        "status": "SHIPPED",
        "createdAt": "2024-05-02T09:30:00Z",
    }
}

app = APIGatewayRestResolver()


class OrderError(Exception):
    """A request the service understood and refuses; ``status`` is the HTTP answer it becomes."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_json(self) -> dict[str, str]:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class InvalidOrder(OrderError):
    code = "INVALID_ORDER"


class OrderNotFound(OrderError):
    status = 404
    code = "ORDER_NOT_FOUND"


class OrderNotCancellable(OrderError):
    status = 409
    code = "ORDER_NOT_CANCELLABLE"


class UnknownAction(OrderError):
    code = "UNKNOWN_ACTION"


def validate_new_order(request: Any) -> None:
    """Refuse an order nobody could fulfil before anything is stored."""
    if not isinstance(request, dict):
        raise InvalidOrder("an order must be a JSON object with customerId and items")
    customer = request.get("customerId")
    if not isinstance(customer, str) or not customer.strip():
        raise InvalidOrder(
            "customerId is required: the id of the customer placing the order", "customerId"
        )
    items = request.get("items")
    if not isinstance(items, list) or not items:
        raise InvalidOrder("items must list at least one {sku, quantity}", "items")


# Units in stock per SKU, taken as orders are created. A real service keeps them in a table.
STOCK: dict[str, int] = {"BOOK-1984": 5000, "MUG-CLASSIC": 2000, "PEN-FOUNTAIN": 800}


def reserve_stock(items: Any) -> None:
    """Take each item's quantity off the stock before the order is stored."""
    for item in items:
        STOCK[item["sku"]] -= item.get("quantity", 1)


# The store changes only in these three functions; callers get copies.


def create_order(request: Any) -> dict[str, Any]:
    validate_new_order(request)
    reserve_stock(request["items"])
    order = {
        "orderId": f"ORD-{uuid.uuid4().hex[:10].upper()}",
        "customerId": request.get("customerId"),
        "items": request.get("items", []),
        "status": "CREATED",
        "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    ORDERS[order["orderId"]] = order
    return dict(order)


def find_order(order_id: Any) -> dict[str, Any]:
    try:
        return dict(ORDERS[order_id])
    except (KeyError, TypeError):
        raise OrderNotFound(f"no order {order_id!r}", "orderId") from None


def cancel_order(order_id: Any) -> dict[str, Any]:
    order = find_order(order_id)
    if order["status"] != "CREATED":
        raise OrderNotCancellable(
            f"order {order_id} is {order['status']} and can no longer be cancelled"
        )
    ORDERS[order_id]["status"] = "CANCELLED"
    return find_order(order_id)


@app.post("/orders")
def post_order() -> Response:
    try:
        request = app.current_event.json_body
    except ValueError:
        raise OrderError("the request body is not JSON") from None
    order = create_order(request or {})
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=order,
        headers={"Location": f"/orders/{order['orderId']}"},
    )


@app.get("/orders/<order_id>")
def get_order(order_id: str) -> dict[str, Any]:
    return find_order(order_id)


@app.post("/orders/<order_id>/cancel")
def post_cancel(order_id: str) -> dict[str, Any]:
    return cancel_order(order_id)


@app.exception_handler(OrderError)
def refuse(error: OrderError) -> Response:
    return Response(
        status_code=error.status, content_type=content_types.APPLICATION_JSON, body=error.to_json()
    )


_DIRECT_ACTIONS = {
    "create": lambda event: create_order(event.get("order")),
    "status": lambda event: find_order(event.get("orderId")),
    "cancel": lambda event: cancel_order(event.get("orderId")),
}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway proxy events carry ``httpMethod``; anything else is a direct invocation."""
    if "httpMethod" in event:
        return app.resolve(event, context)
    action = _DIRECT_ACTIONS.get(event.get("action"))
    if action is None:
        actions = ", ".join(_DIRECT_ACTIONS)
        raise UnknownAction(f"action must be one of {actions}; got {event.get('action')!r}")
    return action(event)
