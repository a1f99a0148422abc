"""Where caseworks reads and writes, decided by environment variables only.

Every path and endpoint the code location uses is derived here, once, so the
local laptop set-up and the production deployment differ only in the
environment they run in (see ``.env.example`` and the README's table).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Environment = Literal["local", "prod"]

CASES_DATA_ENV = "CASEWORKS_DATA_DIR"
OUT_DIR_ENV = "CASEWORKS_OUT_DIR"
CRM_DATABASE_URL_ENV = "CASEWORKS_CRM_DATABASE_URL"
CRM_API_KEYS_ENV = "CASEWORKS_CRM_API_KEYS"
#: Console log level of CLI runs; every event is in the instance (the UI) whatever this is.
LOG_LEVEL_ENV = "CASEWORKS_LOG_LEVEL"
#: By default Dagster prints nothing: a failed command ends with its own one-line reason.
DEFAULT_LOG_LEVEL = "CRITICAL"


def log_level() -> str:
    """The console log level asked for with ``CASEWORKS_LOG_LEVEL`` (``CRITICAL``, i.e. silent, by default)."""
    return (env_value(LOG_LEVEL_ENV) or DEFAULT_LOG_LEVEL).upper()


#: Benchmarks only: performance mechanisms switched off in this process (comma-separated names of
#: :data:`MECHANISMS`), so ``python -m benchmarks CASE --without NAME`` measures what each one saves.
WITHOUT_ENV = "CASEWORKS_BENCH_WITHOUT"
#: The mechanisms that can be switched off; each is kept only while it pays its way (README, "Benchmarks").
MECHANISMS = ("instance_storage", "overlap_threads")


def without(mechanism: str) -> bool:
    """Whether ``mechanism`` (one of :data:`MECHANISMS`) is switched off by ``CASEWORKS_BENCH_WITHOUT``."""
    assert mechanism in MECHANISMS, mechanism
    return mechanism in {name.strip() for name in (env_value(WITHOUT_ENV) or "").split(",")}


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def env_value(name: str, default: str | None = None) -> str | None:
    """The variable ``name``, stripped; ``default`` when unset or blank. Every module reads the environment here."""
    value = os.environ.get(name, "").strip()
    return value or default


def is_set(name: str) -> bool:
    """Whether the variable ``name`` holds more than blanks."""
    return env_value(name) is not None


def caseworks_variables() -> tuple[tuple[str, str], ...]:
    """Every set ``CASEWORKS_*`` variable and its value, sorted: what built definitions may depend on.

    Besides :class:`Settings`, resources read a few variables when they are
    built (a case's own input folder, the privacy keys, delivery endpoints);
    definitions built for one configuration are reused only under the same one.
    """
    return tuple(sorted((name, value) for name, value in os.environ.items() if name.startswith("CASEWORKS_")))


def environment() -> Environment:
    """``CASEWORKS_ENV``: ``local`` (the default) or ``prod``."""
    env = env_value("CASEWORKS_ENV", "local")
    if env not in ("local", "prod"):
        raise SettingsError(f"CASEWORKS_ENV must be 'local' or 'prod', not {env!r}")
    return env  # type: ignore[return-value]


def case_data_env(case: str) -> str:
    """Name of the variable that points one case at its own input folder."""
    return f"CASEWORKS_{case.upper()}_DATA_DIR"


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one process."""

    env: Environment
    out_dir: Path
    data_dir: Path
    warehouse_path: Path
    lake_root: str
    spark_master: str
    bigquery_project: str | None
    bigquery_location: str | None
    gcp_credentials: str | None
    #: the crm serving store in deployment (PostgreSQL); unset: the DuckDB snapshot under ``<out_dir>/crm/``
    crm_database_url: str | None = None
    #: API keys the crm API accepts as Bearer tokens (comma-separated in the environment)
    crm_api_keys: tuple[str, ...] = ()
    #: DuckDB file of dbt's own models (``CASEWORKS_DBT_WAREHOUSE``; default ``<out_dir>/dbt.duckdb``).
    dbt_warehouse: Path | None = None

    @property
    def dbt_warehouse_path(self) -> Path:
        """The local dbt file: dbt writes it, Dagster only reads it (never the warehouse file dbt reads around)."""
        return self.dbt_warehouse or self.out_dir / "dbt.duckdb"

    def case_data_dir(self, case: str) -> Path:
        """Input folder of ``case``: its own variable, else ``<data_dir>/<case>``."""
        override = env_value(case_data_env(case))
        return Path(override) if override else self.data_dir / case

    def case_out_dir(self, case: str) -> Path:
        """Folder for a case's file exports: ``<out_dir>/<case>``."""
        return self.out_dir / case

    @classmethod
    def from_env(cls) -> Settings:
        env = environment()
        out_dir = Path(env_value(OUT_DIR_ENV, "caseworks_output")).absolute()
        data_dir = Path(env_value(CASES_DATA_ENV, "caseworks_data")).absolute()
        lake_default = str(out_dir / "lake") if env == "local" else None
        lake_root = env_value("CASEWORKS_LAKE_ROOT", lake_default)
        if lake_root is None:
            raise SettingsError("CASEWORKS_LAKE_ROOT (a gs:// URL) is required when CASEWORKS_ENV=prod")
        if env == "prod" and not lake_root.startswith("gs://"):
            raise SettingsError(f"CASEWORKS_LAKE_ROOT must be a gs:// URL in prod, not {lake_root!r}")
        project = env_value("CASEWORKS_BQ_PROJECT")
        if env == "prod" and project is None:
            raise SettingsError("CASEWORKS_BQ_PROJECT is required when CASEWORKS_ENV=prod")
        return cls(
            env=env,
            out_dir=out_dir,
            data_dir=data_dir,
            warehouse_path=Path(env_value("CASEWORKS_WAREHOUSE", str(out_dir / "warehouse.duckdb"))).absolute(),
            lake_root=lake_root,
            spark_master=env_value("CASEWORKS_SPARK_MASTER", "local[*]"),
            bigquery_project=project,
            bigquery_location=env_value("CASEWORKS_BQ_LOCATION"),
            gcp_credentials=env_value("CASEWORKS_GCP_CREDENTIALS"),
            crm_database_url=env_value(CRM_DATABASE_URL_ENV),
            crm_api_keys=tuple(k.strip() for k in (env_value(CRM_API_KEYS_ENV) or "").split(",") if k.strip()),
            dbt_warehouse=Path(dbt_file).absolute() if (dbt_file := env_value("CASEWORKS_DBT_WAREHOUSE")) else None,
        )


# --------------------------------------------------------------------------- platform case

#: ``CASEWORKS_COST_<FIELD>`` overrides one unit price of the platform cost model
#: (:class:`caseworks_assets.platform.costs.CostModel`), e.g. ``CASEWORKS_COST_BQ_USD_PER_TIB_BILLED=5``.
COST_ENV_PREFIX = "CASEWORKS_COST_"


def cost_overrides() -> dict[str, float]:
    """The cost model's fields set in the environment (lower-case field name -> value)."""
    overrides = {}
    for name, value in os.environ.items():
        if name.startswith(COST_ENV_PREFIX) and value.strip():
            try:
                overrides[name.removeprefix(COST_ENV_PREFIX).lower()] = float(value)
            except ValueError as error:
                raise SettingsError(f"{name} must be a number, not {value!r}") from error
    return overrides


@dataclass(frozen=True)
class PlatformSettings:
    """What the platform case reads from the environment besides the shared settings.

    ``max_concurrent_runs`` and ``warehouse_pool_limit`` are the limits the
    scaling recommendations compare measurements with (the values written to
    ``dagster.yaml`` by default). Power BI is configured when its workspace id
    is set; the secret stays an ``EnvVar`` in the resource.
    """

    max_concurrent_runs: int
    warehouse_pool_limit: int
    powerbi_workspace_id: str | None
    powerbi_api_url: str | None
    powerbi_state_file: Path | None
    powerbi_slow_refresh_s: float

    @classmethod
    def from_env(cls) -> PlatformSettings:
        def number(name: str, default: str) -> float:
            value = env_value(name, default)
            try:
                return float(value)  # type: ignore[arg-type]
            except ValueError as error:
                raise SettingsError(f"{name} must be a number, not {value!r}") from error

        state = env_value("CASEWORKS_POWERBI_STATE_FILE")
        return cls(
            max_concurrent_runs=int(number("CASEWORKS_MAX_CONCURRENT_RUNS", "4")),
            warehouse_pool_limit=int(number("CASEWORKS_WAREHOUSE_POOL_LIMIT", "1")),
            powerbi_workspace_id=env_value("CASEWORKS_POWERBI_WORKSPACE_ID"),
            powerbi_api_url=env_value("CASEWORKS_POWERBI_API_URL"),
            powerbi_state_file=Path(state).absolute() if state else None,
            powerbi_slow_refresh_s=number("CASEWORKS_POWERBI_SLOW_REFRESH_S", "1800"),
        )
