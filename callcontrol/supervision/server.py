"""The aiohttp application of the supervision side (API, docs, and whatever `extra` mounts: wallboard, metrics)
and the loop that serves it in callcontrol's TaskGroup.

Every 4xx is JSON `{"error": code, "reason": text}`; an unexpected error is a logged JSON 500, never a traceback.
Routes are added by `extra` callables (h-board's wallboard and metrics) after the API's own routes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence

import structlog
from aiohttp import web

from callcontrol.supervision.auth import Handler, auth_middleware
from callcontrol.supervision.deps import SupervisionDeps
from callcontrol.supervision.routes import ROUTES

log = structlog.get_logger("callcontrol.supervision")

DEPS: web.AppKey[SupervisionDeps] = web.AppKey("deps", SupervisionDeps)

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 429: "too_many_attempts"}


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn aiohttp's plain-text errors (unknown route, wrong method...) into the API's JSON shape."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        code = _CODES.get(exc.status, "error" if exc.status >= 500 else "client_error")
        reason = exc.reason if exc.text is None or exc.text.startswith(f"{exc.status}:") else exc.text
        body = json.dumps({"error": code, "reason": reason})
        return web.Response(text=body, status=exc.status, content_type="application/json",
                            headers=_kept_headers(exc))
    except asyncio.CancelledError:
        raise
    except Exception:
        log.error("api_request_failed", method=request.method, path=request.path, exc_info=True)
        raise web.HTTPInternalServerError(
            text=json.dumps({"error": "internal", "reason": "internal error (see callcontrol's log)"}),
            content_type="application/json",
        ) from None


def _kept_headers(exc: web.HTTPException) -> dict[str, str]:
    return {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after", "www-authenticate")}


def build_web_app(
    deps: SupervisionDeps, *, extra: Sequence[Callable[[web.Application], None]] = ()
) -> web.Application:
    """The API (supervision/api.py), its OpenAPI document and docs page, then each `extra(app)`."""
    from callcontrol.supervision import api, openapi

    app = web.Application(middlewares=[json_errors, auth_middleware(deps.tokens, deps.limiter)],
                          client_max_size=64 * 1024)
    app[DEPS] = deps
    app[ROUTES] = []
    api.add_routes(app)
    for add in extra:
        add(app)
    openapi.add_routes(app)  # last: documents every route added before it
    return app


async def serve(app: web.Application, bind: str, port: int) -> None:
    """Serve `app` until cancelled. A port already taken is logged (`http_bind_failed`) and the calls go on
    without the API: citizens matter more than the wallboard. Port 0: the system picks one (logged)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, bind, port)
        try:
            await site.start()
        except OSError as exc:
            log.error("http_bind_failed", bind=bind, port=port, error=str(exc))
            return
        ports = [address[1] for address in runner.addresses]
        log.info("http_listening", bind=bind, port=ports[0] if ports else port)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
