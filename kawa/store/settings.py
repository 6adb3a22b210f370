"""The store's settings: `DatabaseSettings` (the PostgreSQL connection pool, env `KAWA_DATABASE__*`) and
`LeaseSettings` (leases on running runs and messages, env `KAWA_LEASES__*`).

The URL stays `KAWA_DATABASE_URL`. Each kawa process holds at most `pool_size + max_overflow` connections, so N
processes need N × (pool_size + max_overflow) of the server's `max_connections` (the README shows the sum).
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class DatabaseSettings(BaseModel):
    """How many PostgreSQL connections one process may hold, and how long a request waits for one."""

    pool_size: int = Field(10, ge=1, description="PostgreSQL connections each process keeps open.")
    max_overflow: int = Field(
        5, ge=0, description="Extra PostgreSQL connections a process may open under load, closed when idle."
    )
    pool_timeout_s: float = Field(
        10.0, gt=0, description="Longest a request waits for a free connection; then it answers 503."
    )
    connect_timeout_s: int = Field(
        5, ge=1, description="Longest wait to connect to PostgreSQL (an unreachable database answers 503 after it)."
    )

    @property
    def max_connections(self) -> int:
        """The most connections one process may hold."""
        return self.pool_size + self.max_overflow


class LeaseSettings(BaseModel):
    """Leases on running runs and messages, nested into `kawa.settings.Settings` as `leases`."""

    duration_s: float = Field(
        10.0,
        gt=0,
        description="How long a running run or message stays its process's without a renewal; after that any kawa "
        "process marks it failed.",
    )
    renew_interval_s: float = Field(
        3.0,
        gt=0,
        description="How often each process renews its leases and marks lapsed ones (of any process) failed.",
    )

    @model_validator(mode="after")
    def _renewed_before_lapsing(self) -> LeaseSettings:
        if self.renew_interval_s * 2 > self.duration_s:
            raise ValueError("leases.renew_interval_s must be at most half of leases.duration_s")
        return self
