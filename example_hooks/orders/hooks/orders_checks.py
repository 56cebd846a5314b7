"""The checks that guard every release of the orders function.

PreTraffic checks run before CodeDeploy moves any traffic: they invoke the new version by its
version number with recorded events, so a broken build never answers a customer. PostTraffic
checks run once all traffic is on the new version: they call the API the way clients do, through
API Gateway and the live alias. A failing check fails the deployment and CodeDeploy rolls back.

File paths are relative to this file's folder: events/ holds recorded events, schemas/ the
JSON Schemas of the API's answers.
"""

from __future__ import annotations

from hookkit import Phase, post_traffic, pre_traffic, recorded_events

# --- PreTraffic: the new version, invoked directly ---------------------------------------------


@pre_traffic
def creates_an_order(target):
    target.invoke("events/api/create_order.json").expect(
        status=201,
        schema="schemas/order.json",
        fields={"/status": "CREATED", "/customerId": "CUST-42"},
    )


@pre_traffic
def rejects_an_order_without_customer(target):
    target.invoke("events/api/create_order_without_customer.json").expect(
        status=400,
        schema="schemas/error.json",
        fields={"/code": "INVALID_ORDER", "/field": "customerId"},
    )


@pre_traffic
def reads_an_order(target):
    target.invoke("events/api/get_order.json").expect(
        status=200,
        schema="schemas/order.json",
        fields={"/orderId": "ORD-1", "/status": "SHIPPED"},
    )


@pre_traffic
def refuses_to_cancel_a_shipped_order(target):
    target.invoke("events/api/cancel_shipped_order.json").expect(
        status=409,
        schema="schemas/error.json",
        fields={"/code": "ORDER_NOT_CANCELLABLE"},
    )


@pre_traffic(name="answers_like_the_current_version", timeout=10, retries=2)
def same_answers_as_current(target):
    # The same recorded requests, sent to the version taking traffic now and to the new one: any
    # other difference in the answers is a behaviour change nobody wrote a check for yet.
    target.compare("events/api/get_order.json")
    target.compare("events/api/create_order.json", ignore=["/orderId", "/createdAt"])


# Direct invocations recorded from other services: one check per NAME.json, held to
# NAME.expect.json where there is one (otherwise the function must simply not raise). A direct
# invocation answers the order itself, not an API Gateway response, so those files pin fields,
# never a status.
recorded_events("events/direct", phase=Phase.BEFORE_ALLOW_TRAFFIC)


# --- PostTraffic: the API, as clients reach it ---------------------------------------------------


@post_traffic(timeout=10, retries=2)
def serves_an_order(api):
    api.get("/orders/ORD-1").expect(
        status=200,
        schema="schemas/order.json",
        fields={"/orderId": "ORD-1"},
        within_ms=800,
    )


@post_traffic(timeout=10, retries=2)
def creates_then_reads_an_order(api):
    # The example keeps orders in memory per execution environment (see v2/app.py). Calls made
    # one after the other usually reach the same warm environment, and the retries cover the
    # occasional one that does not; against a real table this check needs no retries.
    created = api.post(
        "/orders",
        json={"customerId": "CUST-HOOKKIT", "items": [{"sku": "BOOK-1984", "quantity": 1}]},
    ).expect(status=201, schema="schemas/order.json")
    order_id = created.body["orderId"]
    api.get(f"/orders/{order_id}").expect(
        status=200,
        fields={"/orderId": order_id, "/customerId": "CUST-HOOKKIT", "/status": "CREATED"},
    )
