"""`orders-pipeline send-events` (test traffic for the transactions stream) and
`orders-pipeline transactions get ORDER_ID` (a stored order, its payload reassembled).

Where: --queue-url (and the table/bucket options) name AWS resources, reached with this
environment's credentials and region. Without them, the local stack's
(`orders-pipeline local`, http://127.0.0.1:4566; --endpoint-url to change it).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from app.cli.arguments import number, whole_number
from app.cli.console import err, out
from app.cli.failures import CliError, explain, one_line
from app.local.topology import Names

LOCAL_ENDPOINT = "http://127.0.0.1:4566"
LOCAL = Names.for_env("local")


def add_parsers(sub: Any) -> None:
    send = sub.add_parser(
        "send-events",
        help="send test order events to the transactions queue",
        description=(
            "Send COUNT order events to the transactions queue with SendMessageBatch (failed "
            "entries retried), with a chosen share of invalid and large (amount >= 1000) "
            "events, then print what was sent. Without --queue-url: the local stack's queue."
        ),
    )
    send.add_argument("--count", type=whole_number(0), required=True, help="events to send")
    send.add_argument(
        "--batch-size",
        type=whole_number(1, 10),
        default=10,
        help="events per call (1-10, default 10)",
    )
    send.add_argument(
        "--target-kb",
        type=number(0, 1000),
        default=1.0,
        help="size of each event in KiB, reached with padding (default 1; SQS takes up to 1024)",
    )
    send.add_argument(
        "--rate", type=number(0), default=0.0, help="events per second (default 0: max)"
    )
    send.add_argument(
        "--invalid-share", type=number(0, 1), default=0.0, help="fraction invalid (0-1)"
    )
    send.add_argument("--large-share", type=number(0, 1), default=0.0, help="fraction large (0-1)")
    send.add_argument("--seed", type=int, default=0, help="the events' random seed (default 0)")
    _where(send, queue=True)
    send.set_defaults(run=run_send, usage=send)

    tx = sub.add_parser("transactions", help="read the transactions table")
    tx_sub = tx.add_subparsers(required=True, metavar="ACTION")
    get = tx_sub.add_parser(
        "get",
        help="print one stored order as JSON, its payload reassembled",
        description=(
            "Print the stored order ORDER_ID as one line of JSON: the event and what the "
            "pipeline added; an order stored with its payload in S3 is printed whole."
        ),
    )
    get.add_argument("order_id", metavar="ORDER_ID")
    get.add_argument(
        "--table",
        default=None,
        help="the transactions table (default: $TRANSACTIONS_TABLE, else the local stack's)",
    )
    _where(get, queue=False)
    get.set_defaults(run=run_get, usage=get)


def _where(parser: argparse.ArgumentParser, *, queue: bool) -> None:
    if queue:
        parser.add_argument(
            "--queue-url",
            default=None,
            metavar="URL|local",
            help=f"the queue (default, or `local`: {LOCAL.queue('transactions')}, local stack)",
        )
    parser.add_argument(
        "--endpoint-url",
        default=None,
        metavar="URL",
        help=f"the AWS endpoint (default: AWS with --queue-url/--table, else {LOCAL_ENDPOINT})",
    )


def _client(service: str, endpoint_url: str | None, local: bool) -> Any:
    import boto3

    from app.adapters.clients import CLIENT_CONFIG

    session = boto3.session.Session()
    kwargs: dict[str, Any] = {"config": CLIENT_CONFIG, "endpoint_url": endpoint_url}
    if local:
        kwargs["endpoint_url"] = endpoint_url or LOCAL_ENDPOINT
        kwargs["region_name"] = session.region_name or "us-east-1"
        if session.get_credentials() is None:  # the local stack takes any
            kwargs |= {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return session.client(service, **kwargs)  # type: ignore[call-overload]


def _failure(exc: Exception, source: str, local: bool, endpoint: str | None) -> CliError:
    from botocore.exceptions import ClientError, EndpointConnectionError

    if local and isinstance(exc, EndpointConnectionError):
        return CliError(
            f"{source}: nothing answers at {endpoint or LOCAL_ENDPOINT}; start the local stack "
            "with `orders-pipeline local` (or pass --queue-url for a queue on AWS)"
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if "NonExistentQueue" in code or code == "QueueDoesNotExist":
            return CliError(f"{source}: no such queue; check --queue-url and the region")
        if code == "ResourceNotFoundException":
            return CliError(f"{source}: no such table; name it with --table, check the region")
        if code in {"AccessDenied", "AccessDeniedException"}:
            return CliError(f"{source}: access denied for these credentials")
        message = one_line(error.get("Message", "")) or "no message"
        return CliError(f"{source}: AWS refused the request ({code}: {message})")
    known = explain(exc, source)
    if known is None:
        raise exc
    return CliError(known)


# --------------------------------------------------------------------------- send-events


def run_send(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from app.adapters.queues import MessageSender
    from app.pipelines.transactions.producer import Traffic, events, paced

    try:
        traffic = Traffic(
            args.count, args.target_kb, args.invalid_share, args.large_share, args.seed
        )
    except ValueError as exc:
        parser.error(str(exc))
    local = args.queue_url in (None, "local")
    source = "the local stack's transactions queue" if local else args.queue_url
    sqs = _client("sqs", args.endpoint_url, local)
    try:
        url = (
            sqs.get_queue_url(QueueName=LOCAL.queue("transactions"))["QueueUrl"]
            if local
            else args.queue_url
        )
    except Exception as exc:
        raise _failure(exc, source, local, args.endpoint_url) from exc

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "sending",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("events", total=traffic.count)
        sender = MessageSender(
            sqs,
            url,
            batch_size=args.batch_size,
            strict=False,
            on_batch=lambda ok, failed: progress.advance(task, ok + failed),
        )
        started = time.monotonic()
        try:
            sent = sender.send(paced(events(traffic), args.rate))
        except Exception as exc:
            raise _failure(exc, source, local, args.endpoint_url) from exc
        seconds = time.monotonic() - started
    rate = sent / seconds if seconds > 0 else 0.0
    out.print(
        f"sent {sent:,} of {traffic.count:,} events to {url} ({traffic.invalid:,} invalid, "
        f"{traffic.large:,} large; about {traffic.target_kb:g} KiB each) in {seconds:.2f} s: "
        f"{rate:,.0f} events/s; {sender.calls:,} SendMessageBatch calls; failed {sender.failed:,}"
    )
    if sender.failed:
        err.print(f"error: {sender.failed:,} events could not be sent (see above)")
        return 1
    return 0


# --------------------------------------------------------------------------- transactions get


def run_get(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from app.adapters.transactions import TransactionsTable
    from app.core import json_text
    from app.pipelines.transactions.service import reassemble

    given = args.table or os.environ.get("TRANSACTIONS_TABLE", "").strip()
    local = not given
    table = given or LOCAL.transactions_table
    source = f"table {table}"
    try:
        item = TransactionsTable(_client("dynamodb", args.endpoint_url, local), table).get(
            args.order_id
        )
        if item is None:
            raise CliError(f"{source}: no order {args.order_id!r}")
        payload = None
        if "payload_key" in item:
            s3 = _client("s3", args.endpoint_url, local)
            source = f"s3://{item['payload_bucket']}/{item['payload_key']}"
            payload = s3.get_object(Bucket=item["payload_bucket"], Key=item["payload_key"])[
                "Body"
            ].read()
    except CliError:
        raise
    except Exception as exc:
        raise _failure(exc, source, local, args.endpoint_url) from exc
    out.print(json_text.dumps(reassemble(item, payload)), crop=False, overflow="ignore")
    return 0
