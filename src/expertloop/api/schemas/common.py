"""Shared input bounds and the error body every 4xx carries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ...domain.checks import MAX_ID


class View(BaseModel):
    """Base of response models: named fields are promised, others pass through untouched."""

    model_config = ConfigDict(extra="allow")


class ErrorItem(BaseModel):
    loc: str = Field(description="Where: a field path (`response.choice`), a query parameter or a file line")
    msg: str = Field(description="What is wrong there")


class ErrorBody(BaseModel):
    """The body of every 4xx response."""

    detail: str = Field(description="One readable sentence")
    errors: list[ErrorItem] | None = Field(None, description="422 only: every problem found, each located")


_DESCRIPTIONS = {
    401: "No bearer token, or an unknown or revoked one",
    403: "Known caller, not allowed",
    404: "Not found (or not visible to the caller)",
    409: "Conflicts with the current state (lease expired, already submitted, budget exhausted...)",
    422: "Input does not fit: `errors` lists each problem with its location",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries naming :class:`ErrorBody` for each status code."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


ERRORS = errors(401, 403, 404, 409, 422)


# Request bodies: free-form JSON the services validate field by field. Every body has already
# been decoded and checked by the routes' JsonRoute (storable strings, 64-bit integers,
# bounded nesting) before it gets here.
JsonObject = dict[str, Any]
JsonValue = Any

# Ids as the database stores them (PostgreSQL ``integer``): anything else is a 422, not a 500.
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="A positive id")]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many rows (1–1000)")]
