"""Fulfilment worker: turns "order created" messages from an SQS queue into warehouse pick lists.

A message it cannot use (not JSON, no orderId, no items) must not hold up the rest of its batch.
Powertools' BatchProcessor reports it in ``batchItemFailures``, so SQS deletes the messages that
were handled and delivers only that one again, until the queue's redrive policy moves it to a
dead-letter queue. The event source mapping needs ``FunctionResponseTypes:
[ReportBatchItemFailures]`` for SQS to read that answer; without it a single bad message would
send the whole batch round again.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)


class UnusableMessage(ValueError):
    """A message no retry can fix; it belongs in the dead-letter queue."""


def pick_list(message: Any) -> dict[str, Any]:
    """What the warehouse needs from an order: one line per SKU, quantities summed."""
    if not isinstance(message, dict) or not message.get("orderId"):
        raise UnusableMessage("the message names no orderId")
    items = message.get("items")
    if not isinstance(items, list) or not items:
        raise UnusableMessage(f"order {message['orderId']} lists no items")
    quantities: dict[str, int] = {}
    for item in items:
        quantities[item["sku"]] = quantities.get(item["sku"], 0) + item["quantity"]
    return {
        "orderId": message["orderId"],
        "lines": [{"sku": sku, "quantity": count} for sku, count in sorted(quantities.items())],
    }


def record_handler(record: SQSRecord) -> dict[str, Any]:
    try:
        picks = pick_list(json.loads(record.body))
    except ValueError as error:  # UnusableMessage, or a body that is not JSON
        # The log is where someone looking at the dead-letter queue later finds out why.
        logger.warning(
            "unusable message", extra={"message_id": record.message_id, "reason": str(error)}
        )
        raise
    # A real worker would write the pick list to the warehouse's queue or table.
    logger.info("pick list ready", extra={"pick_list": picks})
    return picks


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
