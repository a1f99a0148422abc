"""The crm interactions API (FastAPI): per-customer channel counts, a paginated listing, statistics, customers.

``create_app(reader, api_keys)`` builds the application over a
:class:`~caseworks_assets.crm.queries.ServingReader`; ``caseworks serve crm``
runs it with uvicorn. Every ``/api`` route needs ``Authorization: Bearer <key>``
with a key of ``CASEWORKS_CRM_API_KEYS`` (compared in constant time); ``/healthz``
needs none. Errors are JSON: 401 and 404 as ``{"error": {"code", "message"}}``, 422
in FastAPI's validation shape (unknown query parameters included).
"""

import hmac
import json
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated, Any, Self, get_origin

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema, model_validator
from pydantic.json_schema import SkipJsonSchema

from caseworks_assets.crm import queries
from caseworks_assets.crm.queries import Filters, NoDataError, ServingReader

MAX_PAGE_SIZE = 500
ACCESS_LOG = logging.getLogger("caseworks.crm.access")

TOPIC_ASSUMPTION = (
    "**Topic (an assumption).** The export links interactions and products of discussion only through the "
    "month: the topic of an interaction is the product of discussion of the interaction's month (its `MM-YYYY` in "
    "the product table). An interaction in a month without a product has no topic (null)."
)
DESCRIPTION = f"""How many times each customer talked to us on each channel, and about which topic.

Every `/api` route needs `Authorization: Bearer <API key>`; without a valid key the answer is 401.
Channels are named canonically (first letter upper case: `Email`, `Call`); every known channel (every
channel seen in the clean interactions) is listed, with 0 where there were none. Dates are inclusive
calendar days `YYYY-MM-DD`.

{TOPIC_ASSUMPTION}
"""

_TEXT = r"^[^\x00-\x1f\x7f]*$"
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_TEXT)]
ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_day(value: Any) -> Any:
    if isinstance(value, str) and not ISO_DAY.fullmatch(value):
        raise ValueError("expected a calendar date YYYY-MM-DD")
    return value


IsoDate = Annotated[
    date,
    BeforeValidator(_iso_day),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2019-10-04"]}),
]

#: An optional query parameter: absent or a value. A query string cannot carry null (``?topic=null`` is
#: the topic "null"), so the schema has no null branch, which would tell clients and fuzzers otherwise.
Absent = SkipJsonSchema[None]


class InteractionFilters(BaseModel):
    """Which interactions count."""

    model_config = ConfigDict(extra="forbid")

    channel: list[Text] = Field(
        default_factory=list,
        description="only these channels (repeatable; any case or blanks, e.g. `email`); the answer lists them only",
        examples=[["Email", "Call"]],
    )
    date_from: IsoDate | Absent = Field(None, description="first day counted (inclusive), YYYY-MM-DD")
    date_to: IsoDate | Absent = Field(None, description="last day counted (inclusive), YYYY-MM-DD")
    topic: Text | Absent = Field(None, description="only interactions about this topic", examples=["Mortgage"])

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.date_from is not None and self.date_to is not None and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        return self


class PageParams(InteractionFilters):
    customer_type: Text | Absent = Field(None, description="only customers of this type", examples=["Business"])
    page: int = Field(1, ge=1, le=1_000_000, description="page number, from 1")
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description=f"customers per page, at most {MAX_PAGE_SIZE}")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"error": {"code": "not_found", "message": "no customer 999"}}]}
    )


class CustomerInteractions(BaseModel):
    customer_id: int
    interactions: dict[str, int] = Field(description="interactions per channel, every listed channel present")


class CustomerInteractionsResponse(BaseModel):
    data: CustomerInteractions
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"data": {"customer_id": 1, "interactions": {"Bird": 0, "Call": 3, "Email": 1, "Meeting": 0}}}]
        }
    )


class InteractionsPage(BaseModel):
    data: list[CustomerInteractions]
    page: int
    page_size: int
    total: int = Field(description="customers in all pages")
    next: str | None = Field(description="the next page's path and query, null on the last page")
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": [{"customer_id": 1, "interactions": {"Call": 3, "Email": 1}}],
                    "page": 1,
                    "page_size": 1,
                    "total": 2,
                    "next": "/api/v1/interactions?page=2&page_size=1",
                }
            ]
        }
    )


class TypeCount(BaseModel):
    customer_type: str | None
    interactions: int


class MonthCount(BaseModel):
    month: str = Field(description="YYYY-MM")
    interactions: int


class TopicCount(BaseModel):
    topic: str | None
    interactions: int


class Statistics(BaseModel):
    total: int
    per_channel: dict[str, int]
    per_customer_type: list[TypeCount]
    per_month: list[MonthCount]
    per_topic: list[TopicCount]


class StatisticsResponse(BaseModel):
    data: Statistics
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": {
                        "total": 4,
                        "per_channel": {"Call": 3, "Email": 1},
                        "per_customer_type": [{"customer_type": "Business", "interactions": 4}],
                        "per_month": [{"month": "2019-10", "interactions": 4}],
                        "per_topic": [{"topic": "Mortgage", "interactions": 4}],
                    }
                }
            ]
        }
    )


class Customer(BaseModel):
    customer_id: int
    occupation: str | None
    customer_type: str | None
    interactions: int = Field(description="all interactions of the customer")


class CustomerResponse(BaseModel):
    data: Customer
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"data": {"customer_id": 1, "occupation": "Engineer", "customer_type": "Business", "interactions": 4}}
            ]
        }
    )


class Health(BaseModel):
    status: str
    store: str
    snapshot_version: str | None
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "store": "duckdb", "snapshot_version": "20261206T211713Z"}]}
    )


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "missing or invalid API key"},
    503: {"model": ErrorResponse, "description": "no data published yet"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "unknown customer"}}

CustomerId = Annotated[int, Path(ge=0, le=2**63 - 1, description="customer id", examples=[1])]


def canonical_channel(name: str) -> str:
    """`` email `` -> ``Email``, as the clean rules name channels."""
    text = " ".join(name.split())
    return text[:1].upper() + text[1:].lower()


def _invalid(location: tuple[str, ...], message: str, value: Any) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": location, "msg": message, "input": value}])


def _filters(reader: ServingReader, params: InteractionFilters, known_channels: Sequence[str] | None = None) -> Filters:
    """The query's filters with channels named canonically; a channel never seen is a bad parameter (422)."""
    channels = tuple(dict.fromkeys(canonical_channel(c) for c in params.channel))
    if channels:
        known = set(known_channels if known_channels is not None else queries.known_channels(reader))
        unknown = [c for c in channels if c not in known]
        if unknown:
            message = f"unknown channel(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            raise _invalid(("query", "channel"), message, list(params.channel))
    return Filters(channels=channels, date_from=params.date_from, date_to=params.date_to, topic=params.topic)


#: Query parameters that may be given more than once (``?channel=Email&channel=Call``); every other takes one value.
REPEATABLE = frozenset(name for name, field in PageParams.model_fields.items() if get_origin(field.annotation) is list)


async def single_values(request: Request) -> None:
    """A one-value parameter given twice is a bad request (422), instead of silently keeping its last value."""
    given = Counter(name for name, _ in request.query_params.multi_items())
    repeated = sorted(name for name, times in given.items() if times > 1 and name not in REPEATABLE)
    if repeated:
        values = request.query_params.getlist(repeated[0])
        raise _invalid(("query", repeated[0]), "given more than once; it takes one value", values)


def _key_checker(api_keys: Sequence[str]):
    keys = [key.encode() for key in api_keys if key]
    bearer = HTTPBearer(auto_error=False, description="an API key of CASEWORKS_CRM_API_KEYS")

    async def authorize(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        # async: a few constant-time comparisons need no thread (FastAPI runs a plain def in its thread pool)
        offered = (credentials.credentials if credentials is not None else "").encode()
        valid = False
        for key in keys:  # every key is compared, in constant time: timing says nothing about which matched
            valid |= hmac.compare_digest(offered, key)
        if not valid:
            raise ApiError(401, "unauthorized", "a valid API key is required", {"WWW-Authenticate": "Bearer"})

    return authorize


class AccessLog:
    """ASGI middleware: one JSON log line per request (request id, method, path, status, latency), never a header.

    The request id is the caller's ``X-Request-ID`` when it is a short token,
    else a new one; it is returned in the response's ``X-Request-ID``.
    """

    _ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if self._ID.fullmatch(given) else uuid.uuid4().hex
        status = 500

        async def sending(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            ACCESS_LOG.info(
                json.dumps(
                    {
                        "event": "request",
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "query": scope.get("query_string", b"").decode("latin-1"),
                        "status": status,
                        "latency_ms": round((time.perf_counter() - start) * 1000, 2),
                        "client": (scope.get("client") or ["-"])[0],
                    }
                )
            )


def create_app(reader: ServingReader, api_keys: Sequence[str]) -> FastAPI:
    """The API over ``reader``, accepting the Bearer tokens in ``api_keys`` (none: every /api request is 401)."""
    app = FastAPI(
        title="caseworks crm interactions API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
    )
    authorize = _key_checker(api_keys)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, error: ApiError) -> JSONResponse:
        body = {"error": {"code": error.code, "message": error.message}}
        return JSONResponse(body, status_code=error.status, headers=error.headers)

    @app.exception_handler(NoDataError)
    async def _no_data(_request: Request, error: NoDataError) -> JSONResponse:
        return JSONResponse({"error": {"code": "no_data", "message": str(error)}}, status_code=503)

    async def answer(compute: Callable[[], dict[str, Any]]) -> JSONResponse:
        """Run ``compute`` (its queries) in the thread pool and send its JSON as it is (the response models
        document it; the tests validate it against them). Both stores release the GIL while a query runs, so
        queries of concurrent requests run in parallel on several cores instead of one after another on
        the event loop."""
        return JSONResponse(await run_in_threadpool(compute))

    @app.get("/healthz", response_model=Health, responses={503: {"model": Health}}, tags=["health"])
    async def healthz() -> Any:
        """Liveness and the version of the data served (no authentication)."""
        try:
            version = await run_in_threadpool(reader.version)
        except NoDataError:
            body = Health(status="unavailable", store=reader.kind, snapshot_version=None)
            return JSONResponse(body.model_dump(), status_code=503)
        return JSONResponse({"status": "ok", "store": reader.kind, "snapshot_version": version})

    secured = {"dependencies": [Depends(authorize), Depends(single_values)], "tags": ["interactions"]}

    @app.get(
        "/api/v1/interactions/{customer_id}",
        response_model=CustomerInteractionsResponse,
        responses={**ERRORS, **NOT_FOUND},
        **secured,
    )
    async def customer_interactions(customer_id: CustomerId, params: Annotated[InteractionFilters, Query()]) -> Any:
        """Interactions of one customer per channel, every known channel present (0 when none)."""
        # the fast path: the snapshot's all-time counts, once computed, answer on the event loop (a dictionary
        # lookup costs less than the hop to the thread pool); a day range or a topic still asks the store
        counts = reader.ready(queries.CHANNEL_COUNTS)
        if counts is not None:
            filters = _filters(reader, params, counts.channels)
            if counts.applies(filters):
                found = counts.answer(customer_id, filters)
                if found is None:
                    raise ApiError(404, "not_found", f"no customer {customer_id}")
                return JSONResponse({"data": found})

        def compute() -> dict[str, Any]:
            found = queries.customer_interactions(reader, customer_id, _filters(reader, params))
            if found is None:
                raise ApiError(404, "not_found", f"no customer {customer_id}")
            return {"data": found}

        return await answer(compute)

    @app.get("/api/v1/interactions", response_model=InteractionsPage, responses=ERRORS, **secured)
    async def interactions(request: Request, params: Annotated[PageParams, Query()]) -> Any:
        """Every customer's interactions per channel, by customer id, one page at a time."""

        def compute() -> dict[str, Any]:
            rows, total = queries.interactions_page(
                reader, _filters(reader, params), params.customer_type, params.page, params.page_size
            )
            more = params.page * params.page_size < total
            following = request.url.include_query_params(page=params.page + 1) if more else None
            return {
                "data": rows,
                "page": params.page,
                "page_size": params.page_size,
                "total": total,
                "next": f"{following.path}?{following.query}" if following is not None else None,
            }

        return await answer(compute)

    @app.get("/api/v1/statistics", response_model=StatisticsResponse, responses=ERRORS, **secured)
    async def statistics(params: Annotated[InteractionFilters, Query()]) -> Any:
        """Interactions per channel, per customer type, per month and per topic."""
        return await answer(lambda: {"data": queries.statistics(reader, _filters(reader, params))})

    @app.get(
        "/api/v1/customers/{customer_id}",
        response_model=CustomerResponse,
        responses={**ERRORS, **NOT_FOUND},
        **secured,
    )
    async def customer(customer_id: CustomerId, request: Request) -> Any:
        """One customer: occupation, type and number of interactions."""
        if request.query_params:
            name = next(iter(request.query_params))
            raise _invalid(("query", name), "unknown query parameter", request.query_params[name])

        def compute() -> dict[str, Any]:
            found = queries.customer(reader, customer_id)
            if found is None:
                raise ApiError(404, "not_found", f"no customer {customer_id}")
            return {"data": found}

        return await answer(compute)

    app.add_middleware(AccessLog)
    return app
