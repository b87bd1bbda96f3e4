"""Pydantic models of what the API sends and the bounds of what it accepts.

Services return plain dicts; these models describe them for ``/openapi.json``. Each model
allows fields beyond the ones it names, so a service adding a field never loses it on the
way out — but every field named here is promised to clients.
"""

from .common import (
    ERRORS,
    ErrorBody,
    ErrorItem,
    Id,
    JsonObject,
    Limit,
    OptionalId,
    errors,
)

__all__ = ["ERRORS", "ErrorBody", "ErrorItem", "Id", "JsonObject", "Limit", "OptionalId", "errors"]
