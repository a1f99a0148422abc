"""How the ``caseworks`` command drives the crm case: the run and the printed answers."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import duckdb

from caseworks_assets.crm.columns import CASE

if TYPE_CHECKING:
    from caseworks_assets.crm.queries import ServingReader
    from caseworks_assets.runner import CaseRun


def run(case_run: CaseRun) -> None:
    """Materialize the whole group (export -> clean tables -> serving store) in one run."""
    case_run.execute(f"{CASE}_job")


def _counts(case_run: CaseRun) -> list[str]:
    from caseworks_assets.settings import Settings

    warehouse = Settings.from_env().warehouse_path
    if not warehouse.exists():
        return ["crm: no warehouse written"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = {
            table: con.execute(f"select count(*) from {CASE}.{table}").fetchone()[0]  # type: ignore[index]
            for table in ("customers", "interactions", "products")
        }
        by_rule = con.execute(
            f'select "table", rule, count(*) from {CASE}.quarantine group by all order by 1, 2'
        ).fetchall()
    lines = [", ".join(f"{table}: {n} loaded" for table, n in loaded.items())]
    if by_rule:
        lines.append("quarantined: " + ", ".join(f"{t}/{r} {n}" for t, r, n in by_rule))
    return lines


def example_requests(reader: ServingReader) -> list[str]:
    """Two requests to the API over ``reader`` (in process, with a one-off key) and their answers, as text."""
    import asyncio
    import secrets

    import httpx

    from caseworks_assets.crm.api import create_app

    key = secrets.token_urlsafe(16)
    first = reader.rows("SELECT min(customer_id) FROM interactions", {})[0][0]
    kind = reader.rows(
        "SELECT customer_type FROM customers WHERE customer_type IS NOT NULL ORDER BY customer_id LIMIT 1", {}
    )
    listing = f"customer_type={quote(kind[0][0])}&page_size=2" if kind else "page_size=2"
    paths = [f"/api/v1/interactions/{first}", f"/api/v1/interactions?{listing}"]

    async def ask() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(reader, [key]))
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://crm", headers=headers) as client:
            return [await client.get(path) for path in paths]

    lines = []
    for path, response in zip(paths, asyncio.run(ask()), strict=True):
        lines += [
            f"$ curl -H \"Authorization: Bearer $KEY\" 'http://127.0.0.1:8000{path}'",
            f"{response.status_code} {response.text}",
        ]
    return lines


def summarize(case_run: CaseRun) -> str:
    """Loaded and quarantined counts, the anomalous days, then two example API requests answered by the store."""
    from caseworks_assets.crm import anomalies
    from caseworks_assets.crm.alerts import daily_from_store
    from caseworks_assets.crm.queries import NoDataError, reader_for
    from caseworks_assets.crm.serving import snapshot_folder
    from caseworks_assets.settings import Settings

    settings = Settings.from_env()
    lines = _counts(case_run)
    reader = reader_for(settings.crm_database_url, snapshot_folder(settings.out_dir), caches_answers=False)
    try:
        version = reader.version()
        flagged = anomalies.describe(anomalies.anomalies(daily_from_store(reader)))
        lines.append(f"anomalous channel-days: {'; '.join(flagged) if flagged else 'none'}")
        lines.append(f"serving data version {version} ({reader.kind}); `caseworks serve crm` answers, e.g.:")
        return "\n".join([*lines, *example_requests(reader)])
    except NoDataError as error:
        return "\n".join([*lines, str(error)])
    finally:
        reader.close()
