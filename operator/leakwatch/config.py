"""Operator settings, one documented object, read from LEAKWATCH_* environment variables."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEAKWATCH_", extra="ignore")

    prometheus_url: str = Field(
        default="http://prometheus-operated.monitoring.svc:9090",
        description="LEAKWATCH_PROMETHEUS_URL: base URL of the Prometheus HTTP API memory is read from.",
    )
    namespaces: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="LEAKWATCH_NAMESPACES: comma-separated namespaces to watch; empty watches the whole cluster.",
    )
    analysis_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="LEAKWATCH_ANALYSIS_INTERVAL_SECONDS: how often each LeakWatch is analysed.",
    )
    metrics_port: int = Field(default=8080, ge=0, le=65535, description="LEAKWATCH_METRICS_PORT: serves /metrics.")
    health_port: int = Field(
        default=8081, ge=0, le=65535, description="LEAKWATCH_HEALTH_PORT: serves /healthz (liveness)."
    )
    bind_address: str = Field(default="0.0.0.0", description="LEAKWATCH_BIND_ADDRESS: where both ports listen.")
    log_format: Literal["plain", "full", "json"] = Field(
        default="plain", description="LEAKWATCH_LOG_FORMAT: plain, full (with object refs) or json."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="LEAKWATCH_LOG_LEVEL.")
    peering_name: str | None = Field(
        default=None,
        description="LEAKWATCH_PEERING_NAME: kopf peering object that keeps one active replica; unset runs "
        "standalone (one replica only).",
    )

    time_scale: float = Field(
        default=1.0,
        ge=1.0,
        le=10000.0,
        description="LEAKWATCH_TIME_SCALE: for demos and tests only: how many seconds of story one second of "
        "memory data stands for (the demo plays days in minutes). Leave at 1 in a real cluster.",
    )
    sbom_reports: bool = Field(
        default=False,
        description="LEAKWATCH_SBOM_REPORTS: read the components inside running images (framework versions) "
        "from trivy-operator's SbomReports in each watched namespace; needs list on "
        "sbomreports.aquasecurity.github.io (the chart's components.sbomReports.enabled grants it).",
    )
    peering_priority: int | None = Field(
        default=None,
        description="LEAKWATCH_PEERING_PRIORITY: this replica's peering priority; unset picks a random one, so "
        "replicas never tie (kopf pauses every operator that shares the highest priority).",
    )

    @field_validator("namespaces", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def clusterwide(self) -> bool:
        return not self.namespaces
