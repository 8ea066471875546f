"""The registry function: every created object (any key, input and partner-feed buckets)
starts one execution of the registry state machine, which records it in the files table.

A redelivered event gets the execution name of its first delivery (landing.execution_name),
so Step Functions runs it once: ExecutionAlreadyExists is counted as FilesAlreadyRegistered
and the message consumed. Any other error fails the record, and SQS delivers it again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.adapters.clients import Clients
from app.adapters.stepfunctions import start_execution
from app.core.objects import ObjectRef
from app.core.settings import RegistrySettings
from app.pipelines.file_registry.landing import execution_name, landing_input
from app.runtime.sqs_consumer import Consumer, Handler

__all__ = ["Handler", "make_handler"]


def make_handler(settings: RegistrySettings, stepfunctions: Any | None = None) -> Handler:
    consumer = Consumer(settings.telemetry)
    log, count = consumer.logger, consumer.count
    aws = Clients({"stepfunctions": stepfunctions})

    def register(ref: ObjectRef, context: Any) -> None:
        record = landing_input(ref, received_at=dt.datetime.now(dt.UTC))
        name = execution_name(ref)
        if start_execution(aws("stepfunctions"), settings.state_machine_arn, name, record.dumps()):
            count("FilesRegistered")
            log.info("registration started", extra={"execution": name, "etag": record.etag})
        else:
            count("FilesAlreadyRegistered")
            log.info("already registered: a redelivered event", extra={"execution": name})

    return consumer.handler(consumer.each_object(register))
