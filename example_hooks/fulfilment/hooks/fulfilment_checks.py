"""The checks that guard every release of the fulfilment worker, a function with no API.

A queue consumer is checked the way SQS calls it: invoke the new version with a recorded batch
and read its partial batch response. What matters is which messages it hands back for
redelivery, so the checks pin ``batchItemFailures`` exactly: a build that fails good messages
would loop them forever, and one that swallows the bad one would lose it.

A queue consumer answers no HTTP status, so no check here says ``status=...`` (one would fail:
hookkit never takes Lambda's own 200 for an answer). ``.expect(fields=...)`` also fails on a
function error; a check with nothing more to pin would say ``.expect_no_function_error()``.
"""

from __future__ import annotations

from hookkit import pre_traffic

# The one message in the recorded batch whose body is cut short.
POISON_MESSAGE_ID = "c80e8021-a70a-42c7-a470-796e1186f753"


@pre_traffic
def hands_back_only_the_poison_message(target):
    target.invoke("events/batch_with_poison_message.json").expect(
        fields={"/batchItemFailures": [{"itemIdentifier": POISON_MESSAGE_ID}]},
    )


@pre_traffic
def accepts_a_clean_batch(target):
    target.invoke("events/clean_batch.json").expect(fields={"/batchItemFailures": []})
