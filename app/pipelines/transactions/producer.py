"""Test traffic for the transactions stream: `count` events of about `target_kb` each, a
chosen share of them invalid and a share large (amount >= 1000), reproducible from a seed.

Exactly round(count x share) events are invalid (and as many large, among the valid ones),
at positions drawn from the seed, so a load test knows what the pipeline must end with:
one item per valid event, one alert per invalid or large one.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from app.core import json_text

INVALID_KINDS = (
    "negative amount",
    "no items",
    "quantity 0",
    "currency not ISO 4217",
    "amount as a string",
    "missing user_id",
    "not JSON",
)
SKUS = tuple(f"SKU-{n:04d}" for n in range(1, 200))


@dataclass(frozen=True)
class Traffic:
    count: int
    target_kb: float = 1.0
    invalid_share: float = 0.0
    large_share: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError("count must be 0 or more")
        if not 0 <= self.invalid_share <= 1 or not 0 <= self.large_share <= 1:
            raise ValueError("shares are fractions from 0 to 1")
        if self.invalid_share + self.large_share > 1:
            raise ValueError("the invalid and large shares add up to more than 1")
        if not 0 <= self.target_kb <= 1000:
            raise ValueError("target_kb is from 0 to 1000 (SQS takes 1 MiB a message)")

    @property
    def invalid(self) -> int:
        return round(self.count * self.invalid_share)

    @property
    def large(self) -> int:
        return round(self.count * self.large_share)


@dataclass(frozen=True)
class Sample:
    kind: str  # "valid", "large", or the kind of invalid event
    order_id: str
    body: str


def events(traffic: Traffic) -> Iterator[Sample]:
    rng = random.Random(traffic.seed)
    special = rng.sample(range(traffic.count), traffic.invalid + traffic.large)
    invalid = set(special[: traffic.invalid])
    large = set(special[traffic.invalid :])
    target = int(traffic.target_kb * 1024)
    for n in range(traffic.count):
        order_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if n in large:
            amount = Decimal(rng.randrange(100_000, 1_000_000)) / 100
        else:
            amount = Decimal(rng.randrange(100, 99_999)) / 100
        event: dict[str, object] = {
            "order_id": order_id,
            "user_id": f"user-{rng.randrange(1, 10_000)}",
            "amount": amount,
            "currency": rng.choice(("EUR", "USD", "GBP")),
            "items": [
                {"sku": rng.choice(SKUS), "qty": rng.randrange(1, 5)}
                for _ in range(rng.randrange(1, 6))
            ],
            "created_at": f"2026-11-23T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z",
        }
        kind = "large" if n in large else "valid"
        if n in invalid:
            kind = INVALID_KINDS[n % len(INVALID_KINDS)]
            _spoil(event, kind)
        body = json_text.dumps(event)
        room = target - len(body) - len(',"padding":""')
        if room > 0:
            body = body[:-1] + f',"padding":{json.dumps("x" * room)}}}'
        if kind == "not JSON":
            body = body[:-1]  # cut: no closing brace
        yield Sample(kind, order_id, body)


def _spoil(event: dict[str, object], kind: str) -> None:
    if kind == "negative amount":
        event["amount"] = Decimal("-5.00")
    elif kind == "no items":
        event["items"] = []
    elif kind == "quantity 0":
        event["items"] = [{"sku": "SKU-0001", "qty": 0}]
    elif kind == "currency not ISO 4217":
        event["currency"] = "euro"
    elif kind == "amount as a string":
        event["amount"] = str(event["amount"])
    elif kind == "missing user_id":
        del event["user_id"]


def paced(
    samples: Iterable[Sample],
    rate: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[tuple[str, str]]:
    """(order_id, body) of each sample, the n-th not before n / rate seconds (0: at once)."""
    start = clock()
    for n, sample in enumerate(samples):
        if rate:
            delay = start + n / rate - clock()
            if delay > 0:
                sleep(delay)
        yield sample.order_id, sample.body
