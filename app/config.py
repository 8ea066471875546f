"""Function configuration: read and validated once, at import, from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    output_bucket: str
    service: str = "orders-reports"
    namespace: str = "OrdersPipeline"
    log_level: str = "INFO"
    source_wait_seconds: float = 60.0  # how long a run waits for another run of its source

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        bucket = env.get("OUTPUT_BUCKET", "").strip()
        if not bucket:
            raise ConfigError(
                "OUTPUT_BUCKET is not set: the reports function needs the name of the bucket "
                "to write reports to (Terraform sets it; locally `orders-pipeline local` does)"
            )
        wait = env.get("SOURCE_WAIT_SECONDS", str(cls.source_wait_seconds))
        try:
            source_wait_seconds = float(wait)
        except ValueError:
            raise ConfigError(f"SOURCE_WAIT_SECONDS is not a number of seconds: {wait!r}") from None
        return cls(
            output_bucket=bucket,
            source_wait_seconds=source_wait_seconds,
            service=env.get("POWERTOOLS_SERVICE_NAME", cls.service),
            namespace=env.get("POWERTOOLS_METRICS_NAMESPACE", cls.namespace),
            log_level=env.get("POWERTOOLS_LOG_LEVEL", env.get("LOG_LEVEL", cls.log_level)),
        )
