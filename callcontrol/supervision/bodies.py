"""Reading a request body into its pydantic model and answering with one; the use cases' errors as JSON 4xx."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError

from callcontrol.agents.presence import PresenceRefused, UnknownAgent
from callcontrol.routing.switchboard import NotFound, SwitchboardError
from callcontrol.supervision.auth import json_error

M = TypeVar("M", bound=BaseModel)


async def read_body(request: web.Request, model: type[M]) -> M:
    """The JSON body as `model`: 400 when it is not JSON (an empty body is {}), 422 naming the bad field."""
    raw = await request.read()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise json_error(web.HTTPBadRequest, "bad_json", f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise json_error(web.HTTPBadRequest, "bad_json", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise json_error(web.HTTPUnprocessableEntity, "invalid", _reason(exc)) from None


def _reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def reply(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(text=model.model_dump_json(), status=status, content_type="application/json")


@contextlib.asynccontextmanager
async def refusals() -> AsyncIterator[None]:
    """The use cases' refusals as JSON: not found 404, refused 409; Redis away 503."""
    try:
        yield
    except NotFound as exc:
        raise json_error(web.HTTPNotFound, "not_found", str(exc)) from None
    except UnknownAgent as exc:
        raise json_error(web.HTTPNotFound, "not_found", str(exc)) from None
    except (SwitchboardError, PresenceRefused) as exc:
        raise json_error(web.HTTPConflict, getattr(exc, "code", "refused"), str(exc)) from None
    except (RedisError, ConnectionError, TimeoutError) as exc:
        raise json_error(web.HTTPServiceUnavailable, "state_unavailable",
                         f"Redis unreachable: {str(exc) or type(exc).__name__}") from None
