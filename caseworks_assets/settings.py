"""Where caseworks reads and writes, decided by environment variables only, and read here only.

Every ``CASEWORKS_*`` variable is read in this module: :meth:`Settings.from_env`
resolves every non-secret value once (folders, endpoints, per-case input folders,
the delivery channels, the platform's limits), so the local laptop set-up and
the production deployment differ only in the environment they run in (see
``.env.example`` and the README's table). The definitions are built from a
:class:`Settings` alone (:mod:`caseworks_assets.code_location` builds them once per
``Settings`` in a process); no module reads the environment at import.

Secrets (passwords, keys, tokens) are not values of :class:`Settings`: the
resources name them as ``dg.EnvVar`` (their names are the ``*_ENV`` constants
here), Dagster resolves them when a run starts and the UI never shows them.
``Settings.secrets`` records only *which* of them are set, which decides whether
a secret-backed channel is configured.
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
# The two process switches below are read when used, not kept in Settings: they change how a process
# prints and measures, never the definitions.

#: Console log level of CLI runs; every event is in the instance (the UI) whatever this is.
LOG_LEVEL_ENV = "CASEWORKS_LOG_LEVEL"
#: By default Dagster prints nothing: a failed command ends with its own one-line reason.
DEFAULT_LOG_LEVEL = "CRITICAL"


def log_level() -> str:
    """The console log level asked for with ``CASEWORKS_LOG_LEVEL`` (``CRITICAL``, i.e. silent, by default)."""
    return (_env_value(LOG_LEVEL_ENV) or DEFAULT_LOG_LEVEL).upper()


#: Benchmarks only: performance mechanisms switched off in this process (comma-separated names of
#: :data:`MECHANISMS`), so ``python -m benchmarks CASE --without NAME`` measures what each one saves.
WITHOUT_ENV = "CASEWORKS_BENCH_WITHOUT"
#: The mechanisms that can be switched off; each is kept only while it pays its way (README, "Benchmarks").
#: ``bytecode`` (modules compiled at install, ``uv sync --compile-bytecode``) is switched off by the benchmark
#: runner itself: its child processes then find no compiled module and may write none.
MECHANISMS = (
    "instance_storage",
    "overlap_threads",
    "gc_pause",
    "bytecode",
    "dbt_launcher",
)


def without(mechanism: str) -> bool:
    """Whether ``mechanism`` (one of :data:`MECHANISMS`) is switched off by ``CASEWORKS_BENCH_WITHOUT``."""
    assert mechanism in MECHANISMS, mechanism
    return mechanism in {name.strip() for name in (_env_value(WITHOUT_ENV) or "").split(",")}


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _env_value(name: str, default: str | None = None) -> str | None:
    """The variable ``name``, stripped; ``default`` when unset or blank. The one place the environment is read."""
    value = os.environ.get(name, "").strip()
    return value or default


def _environment() -> Environment:
    """``CASEWORKS_ENV``: ``local`` (the default) or ``prod``."""
    env = _env_value("CASEWORKS_ENV", "local")
    if env not in ("local", "prod"):
        raise SettingsError(f"CASEWORKS_ENV must be 'local' or 'prod', not {env!r}")
    return env  # type: ignore[return-value]


def _number(name: str, default: str) -> float:
    value = _env_value(name, default)
    try:
        return float(value)  # type: ignore[arg-type]
    except ValueError as error:
        raise SettingsError(f"{name} must be a number, not {value!r}") from error


def case_data_env(case: str) -> str:
    """Name of the variable that points one case at its own input folder (``CASEWORKS_<CASE>_DATA_DIR``)."""
    return f"CASEWORKS_{case.upper()}_DATA_DIR"


def _case_data_dirs() -> tuple[tuple[str, Path], ...]:
    """Every case's ``CASEWORKS_<CASE>_DATA_DIR`` that is set, as ``(case, folder)`` in the cases' order."""
    from caseworks_assets.cases import CASE_MODULES  # the names only: imports no case

    return tuple(
        (case, Path(folder).absolute()) for case in CASE_MODULES if (folder := _env_value(case_data_env(case)))
    )


def secret_value(name: str) -> str | None:
    """The secret ``name`` (one of :data:`SECRETS`), for commands that use it outside a Dagster run.

    Key rotation and the key check before a run parse the key ring themselves;
    resources never call this: they name the secret as ``dg.EnvVar``.
    """
    assert name in SECRETS, name
    return _env_value(name)


# --------------------------------------------------------------------------- secrets (names only)

PSEUDONYM_KEY_ENV = "CASEWORKS_PSEUDONYM_KEY"
ENCRYPTION_KEYS_ENV = "CASEWORKS_ENCRYPTION_KEYS"
GCP_CREDENTIALS_ENV = "CASEWORKS_GCP_CREDENTIALS"
SMTP_USER_ENV = "CASEWORKS_SMTP_USER"
SMTP_PASSWORD_ENV = "CASEWORKS_SMTP_PASSWORD"
SFTP_PRIVATE_KEY_ENV = "CASEWORKS_SFTP_PRIVATE_KEY"
PARTNER_API_USER_ENV = "CASEWORKS_PARTNER_API_USER"
PARTNER_API_PASSWORD_ENV = "CASEWORKS_PARTNER_API_PASSWORD"
POWERBI_TOKEN_ENV = "CASEWORKS_POWERBI_TOKEN"
#: Variables the resources read as ``dg.EnvVar`` at run time; :class:`Settings` records which are set, not their values.
SECRETS = (
    PSEUDONYM_KEY_ENV,
    ENCRYPTION_KEYS_ENV,
    GCP_CREDENTIALS_ENV,
    SMTP_USER_ENV,
    SMTP_PASSWORD_ENV,
    SFTP_PRIVATE_KEY_ENV,
    PARTNER_API_USER_ENV,
    PARTNER_API_PASSWORD_ENV,
    POWERBI_TOKEN_ENV,
)

# --------------------------------------------------------------------------- delivery channels

SMTP_HOST_ENV = "CASEWORKS_SMTP_HOST"
SFTP_HOST_ENV = "CASEWORKS_SFTP_HOST"
PARTNER_API_URL_ENV = "CASEWORKS_PARTNER_API_URL"


@dataclass(frozen=True)
class SMTPSettings:
    """The mail relay (``CASEWORKS_SMTP_*``) and the recipient lists; no host: not configured (the outbox)."""

    host: str | None = None
    port: int = 587
    sender: str = "caseworks@localhost"
    security: str = "starttls"
    ca_file: str | None = None
    partner_emails: str | None = None
    alert_emails: str | None = None

    @classmethod
    def from_env(cls) -> SMTPSettings:
        return cls(
            host=_env_value(SMTP_HOST_ENV),
            port=int(_number("CASEWORKS_SMTP_PORT", "587")),
            sender=_env_value("CASEWORKS_SMTP_FROM", "caseworks@localhost"),  # type: ignore[arg-type]
            security=_env_value("CASEWORKS_SMTP_SECURITY", "starttls"),  # type: ignore[arg-type]
            ca_file=_env_value("CASEWORKS_SMTP_CA_FILE"),
            partner_emails=_env_value("CASEWORKS_PARTNER_EMAILS"),
            alert_emails=_env_value("CASEWORKS_ALERT_EMAILS"),
        )


@dataclass(frozen=True)
class SFTPSettings:
    """The partner's SFTP server (``CASEWORKS_SFTP_*``; the key file is a secret); no host: not configured."""

    host: str | None = None
    port: int = 22
    user: str | None = None
    known_hosts: str | None = None
    remote_dir: str = "."

    @classmethod
    def from_env(cls) -> SFTPSettings:
        return cls(
            host=_env_value(SFTP_HOST_ENV),
            port=int(_number("CASEWORKS_SFTP_PORT", "22")),
            user=_env_value("CASEWORKS_SFTP_USER"),
            known_hosts=_env_value("CASEWORKS_SFTP_KNOWN_HOSTS"),
            remote_dir=_env_value("CASEWORKS_SFTP_REMOTE_DIR", "."),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class DeliverySettings:
    """The delivery channels; a channel without its host or URL delivers to the outbox."""

    smtp: SMTPSettings = SMTPSettings()
    sftp: SFTPSettings = SFTPSettings()
    #: the partner REST API's base URL (``CASEWORKS_PARTNER_API_URL``); its user and password are secrets
    partner_api_url: str | None = None

    @classmethod
    def from_env(cls) -> DeliverySettings:
        return cls(
            smtp=SMTPSettings.from_env(), sftp=SFTPSettings.from_env(), partner_api_url=_env_value(PARTNER_API_URL_ENV)
        )


# --------------------------------------------------------------------------- platform case

#: ``CASEWORKS_COST_<FIELD>`` overrides one unit price of the platform cost model
#: (:class:`caseworks_assets.platform.costs.CostModel`), e.g. ``CASEWORKS_COST_BQ_USD_PER_TIB_BILLED=5``.
COST_ENV_PREFIX = "CASEWORKS_COST_"


def _cost_overrides() -> tuple[tuple[str, float], ...]:
    """The cost model's fields set in the environment (lower-case field name, value), sorted."""
    overrides = []
    for name, value in os.environ.items():
        if name.startswith(COST_ENV_PREFIX) and value.strip():
            try:
                overrides.append((name.removeprefix(COST_ENV_PREFIX).lower(), float(value)))
            except ValueError as error:
                raise SettingsError(f"{name} must be a number, not {value!r}") from error
    return tuple(sorted(overrides))


@dataclass(frozen=True)
class PlatformSettings:
    """What the platform case reads from the environment besides the shared settings.

    ``max_concurrent_runs`` and ``warehouse_pool_limit`` are the limits the
    scaling recommendations compare measurements with (the values written to
    ``dagster.yaml`` by default). Power BI is configured when its workspace id
    is set; the token stays an ``EnvVar`` in the resource.
    """

    max_concurrent_runs: int = 4
    warehouse_pool_limit: int = 1
    powerbi_workspace_id: str | None = None
    powerbi_api_url: str | None = None
    powerbi_state_file: Path | None = None
    powerbi_slow_refresh_s: float = 1800.0
    #: ``CASEWORKS_COST_<FIELD>`` overrides of the cost model, as (lower-case field, value)
    cost_overrides: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_env(cls) -> PlatformSettings:
        state = _env_value("CASEWORKS_POWERBI_STATE_FILE")
        return cls(
            max_concurrent_runs=int(_number("CASEWORKS_MAX_CONCURRENT_RUNS", "4")),
            warehouse_pool_limit=int(_number("CASEWORKS_WAREHOUSE_POOL_LIMIT", "1")),
            powerbi_workspace_id=_env_value("CASEWORKS_POWERBI_WORKSPACE_ID"),
            powerbi_api_url=_env_value("CASEWORKS_POWERBI_API_URL"),
            powerbi_state_file=Path(state).absolute() if state else None,
            powerbi_slow_refresh_s=_number("CASEWORKS_POWERBI_SLOW_REFRESH_S", "1800"),
            cost_overrides=_cost_overrides(),
        )


# --------------------------------------------------------------------------- the settings of a process

PAYMENTS_LANDING_ENV = "CASEWORKS_PAYMENTS_LANDING"


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one process: what the definitions are built from, and all of it.

    Frozen and hashable: :func:`~caseworks_assets.code_location.build_definitions`
    keys its cache on it, so two processes (or tests) with the same settings
    share one build and any difference gives its own.
    """

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
    #: a case's own input folder (``CASEWORKS_<CASE>_DATA_DIR``), as ``(case, folder)``; others: ``<data_dir>/<case>``
    case_data_dirs: tuple[tuple[str, Path], ...] = ()
    #: the folder the payments stream sensor watches (``CASEWORKS_PAYMENTS_LANDING``)
    payments_landing: Path | None = None
    delivery: DeliverySettings = DeliverySettings()
    platform: PlatformSettings = PlatformSettings()
    #: which of :data:`SECRETS` are set (names only: the values are read by Dagster at run time)
    secrets: frozenset[str] = frozenset()

    @property
    def dbt_warehouse_path(self) -> Path:
        """The local dbt file: dbt writes it, Dagster only reads it (never the warehouse file dbt reads around)."""
        return self.dbt_warehouse or self.out_dir / "dbt.duckdb"

    @property
    def warehouse_kind(self) -> str:
        """The warehouse's kind tag in the UI: ``duckdb`` locally, ``bigquery`` in prod."""
        return "bigquery" if self.env == "prod" else "duckdb"

    @property
    def crm_serving_kind(self) -> str:
        """The crm serving store's kind tag: PostgreSQL in deployment (or whenever its URL is set), else DuckDB."""
        return "postgres" if self.crm_database_url or self.env == "prod" else "duckdb"

    @property
    def payments_landing_dir(self) -> Path:
        """The payments stream's landing folder: its variable, else ``<out_dir>/payments/landing``."""
        return self.payments_landing or self.case_out_dir("payments") / "landing"

    def has_secret(self, name: str) -> bool:
        """Whether the secret variable ``name`` (one of :data:`SECRETS`) is set."""
        assert name in SECRETS, name
        return name in self.secrets

    def case_data_override(self, case: str) -> Path | None:
        """The input folder ``case``'s own variable names, or None when it is not set."""
        return dict(self.case_data_dirs).get(case)

    def case_data_dir(self, case: str) -> Path:
        """Input folder of ``case``: its own variable, else ``<data_dir>/<case>``."""
        return self.case_data_override(case) or self.data_dir / case

    def case_out_dir(self, case: str) -> Path:
        """Folder for a case's file exports: ``<out_dir>/<case>``."""
        return self.out_dir / case

    @classmethod
    def from_env(cls) -> Settings:
        env = _environment()
        out_dir = Path(_env_value(OUT_DIR_ENV, "caseworks_output")).absolute()
        data_dir = Path(_env_value(CASES_DATA_ENV, "caseworks_data")).absolute()
        lake_default = str(out_dir / "lake") if env == "local" else None
        lake_root = _env_value("CASEWORKS_LAKE_ROOT", lake_default)
        if lake_root is None:
            raise SettingsError("CASEWORKS_LAKE_ROOT (a gs:// URL) is required when CASEWORKS_ENV=prod")
        if env == "prod" and not lake_root.startswith("gs://"):
            raise SettingsError(f"CASEWORKS_LAKE_ROOT must be a gs:// URL in prod, not {lake_root!r}")
        project = _env_value("CASEWORKS_BQ_PROJECT")
        if env == "prod" and project is None:
            raise SettingsError("CASEWORKS_BQ_PROJECT is required when CASEWORKS_ENV=prod")
        landing = _env_value(PAYMENTS_LANDING_ENV)
        return cls(
            env=env,
            out_dir=out_dir,
            data_dir=data_dir,
            warehouse_path=Path(_env_value("CASEWORKS_WAREHOUSE", str(out_dir / "warehouse.duckdb"))).absolute(),
            lake_root=lake_root,
            spark_master=_env_value("CASEWORKS_SPARK_MASTER", "local[*]"),  # type: ignore[arg-type]
            bigquery_project=project,
            bigquery_location=_env_value("CASEWORKS_BQ_LOCATION"),
            gcp_credentials=_env_value(GCP_CREDENTIALS_ENV),
            crm_database_url=_env_value(CRM_DATABASE_URL_ENV),
            crm_api_keys=tuple(k.strip() for k in (_env_value(CRM_API_KEYS_ENV) or "").split(",") if k.strip()),
            dbt_warehouse=Path(dbt_file).absolute() if (dbt_file := _env_value("CASEWORKS_DBT_WAREHOUSE")) else None,
            case_data_dirs=_case_data_dirs(),
            payments_landing=Path(landing).absolute() if landing else None,
            delivery=DeliverySettings.from_env(),
            platform=PlatformSettings.from_env(),
            secrets=frozenset(name for name in SECRETS if _env_value(name) is not None),
        )
