"""The checks module of the cold-start and memory benchmarks: ten PreTraffic checks.

Each invokes the new version with a direct event and holds the answer to a status, a schema and
a field, as a team's hook does; the stand-in Lambda (bench/fakes.py) answers them all.
"""

from __future__ import annotations

from hookkit import pre_traffic

ORDER_SCHEMA = {
    "type": "object",
    "required": ["orderId", "customerId", "status", "createdAt"],
    "properties": {
        "orderId": {"type": "string", "pattern": "^ORD-[0-9A-Z]+$"},
        "customerId": {"type": "string", "minLength": 1},
        "status": {"enum": ["CREATED", "CANCELLED", "SHIPPED"]},
        "createdAt": {"type": "string", "format": "date-time"},
    },
}


def _order_check(n: int):
    def check(target):
        target.invoke({"action": "status", "orderId": f"ORD-{n}"}).expect(
            status=200, schema=ORDER_SCHEMA, fields={"/status": "SHIPPED"}
        )

    check.__name__ = check.__qualname__ = f"order_{n}_answers"
    return check


for _n in range(10):
    pre_traffic(_order_check(_n))
