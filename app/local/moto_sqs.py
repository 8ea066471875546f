"""moto's SQS made to scale with queue depth, for the embedded AWS.

moto 5.2.5 builds a queue's whole attribute dict (ApproximateNumberOfMessages and the other
counts, each a scan of every message) on every SendMessage entry, so a send costs time linear
in the queue's depth: 15 ms per message at 1,000 waiting, 300 ms at 20,000 (measured in
docs/benchmarks-feed.md). A burst of 26,000 events would take hours. Here the attributes are a
mapping that computes one attribute when it is read: the same keys and values as moto's own
dict, in the same order, so every answer is unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

_applied = False


def lazy_queue_attributes() -> None:
    """Replace moto's Queue.attributes (once per process)."""
    global _applied
    if _applied:
        return
    from moto.core.utils import camelcase_to_underscores
    from moto.sqs.models import Queue

    class Attributes(Mapping[str, Any]):
        def __init__(self, queue: Any) -> None:
            self.queue = queue
            self.names = list(Queue.BASE_ATTRIBUTES)
            if queue.fifo_queue:
                self.names += Queue.FIFO_ATTRIBUTES
            if queue.kms_master_key_id:
                self.names += Queue.KMS_ATTRIBUTES

        def __getitem__(self, name: str) -> Any:
            if name not in self.names:
                raise KeyError(name)
            if name == "RedrivePolicy" and self.queue.redrive_policy:
                return json.dumps(self.queue.redrive_policy)
            value = getattr(self.queue, camelcase_to_underscores(name))
            return str(value).lower() if isinstance(value, bool) else value

        def __iter__(self) -> Iterator[str]:
            return iter(self.names)

        def __len__(self) -> int:
            return len(self.names)

    Queue.attributes = property(Attributes)  # type: ignore[assignment,method-assign]
    _applied = True
