"""What every API router shares: JSON bodies read whatever the client declared, and every
route documents the error body of its 4xx responses."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from ...domain.checks import json_problems
from ...domain.errors import ValidationFailed
from ..schemas import errors

# What ``curl -d`` sends when no Content-Type is given: the API takes no forms, so such a body
# is read as the JSON it is (and is refused as invalid JSON when it is not).
_LENIENT = {b"", b"application/x-www-form-urlencoded", b"text/plain"}


class JsonRoute(APIRoute):
    """An API route whose request body is always JSON, whatever Content-Type says."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def lenient(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH"):
                headers = [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
                declared = dict(request.scope["headers"]).get(b"content-type", b"")
                if declared.split(b";")[0].strip().lower() in _LENIENT:
                    request.scope["headers"] = [*headers, (b"content-type", b"application/json")]
                await _parse_json(request)
            return await handler(request)

        return lenient


async def _parse_json(request: Request) -> None:
    """Decode and check the body once, here, so that every way it can be malformed is a located
    422: FastAPI itself turns only a syntax error into one (not bad UTF-8, nesting that exhausts
    the decoder, an integer too long to convert), and a string the database cannot store (NUL,
    an unpaired surrogate) would be a 500."""
    body = await request.body()
    if not body:
        return
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"is not UTF-8 (byte {exc.start})", loc="body") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                               loc="body") from None
    except RecursionError:
        raise ValidationFailed("is nested too deeply", loc="body") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ValidationFailed(f"is not valid JSON: {exc}", loc="body") from None
    problems = json_problems(value)  # NUL, unpaired surrogates, integers beyond 64 bits, depth
    if problems:
        raise ValidationFailed(problems)
    request._json = value  # Starlette's cache: request.json() returns it


def router(tag: str) -> APIRouter:
    """A router for one resource: lenient JSON bodies, 401 and 422 documented on every route."""
    return APIRouter(tags=[tag], route_class=JsonRoute, responses=errors(401, 422))
