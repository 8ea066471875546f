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

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        bucket = env.get("OUTPUT_BUCKET", "").strip()
        if not bucket:
            raise ConfigError(
                "OUTPUT_BUCKET is not set: the reports function needs the name of the bucket "
                "to write reports to (Terraform sets it; locally `orders-pipeline local` does)"
            )
        return cls(
            output_bucket=bucket,
            service=env.get("POWERTOOLS_SERVICE_NAME", cls.service),
            namespace=env.get("POWERTOOLS_METRICS_NAMESPACE", cls.namespace),
            log_level=env.get("POWERTOOLS_LOG_LEVEL", env.get("LOG_LEVEL", cls.log_level)),
        )
