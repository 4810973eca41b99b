"""The OpenAPI 3.1 document, generated from the routes' RouteDoc and their pydantic models, at /openapi.json,
and a plain HTML page rendering it at /docs (no script, no CDN: nothing leaves the machine)."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from callcontrol.supervision import models as m
from callcontrol.supervision.routes import ROUTES, RouteDoc, documented

_PARAM = re.compile(r"{(\w+)}")
_REF = "#/components/schemas/{model}"
_STATUS_TEXT = {400: "not JSON", 401: "no or bad token", 403: "role too low", 404: "not found",
                409: "refused (the reason says why)", 422: "invalid body (the reason names the field)",
                429: "too many wrong tokens", 503: "Redis unreachable"}


def build_spec(routes: list[RouteDoc]) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], str]] = [(m.Error, "serialization")]
    for r in routes:
        if r.body is not None:
            models.append((r.body, "validation"))
        if r.response is not None:
            models.append((r.response, "serialization"))
    keys, top = models_json_schema(list(dict.fromkeys(models)), ref_template=_REF)
    refs = {model_mode: schema for model_mode, schema in keys.items()}
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        op: dict[str, Any] = {"summary": r.summary, "tags": [r.tag], "operationId": _op_id(r)}
        if r.description:
            op["description"] = r.description
        if r.role is not None:
            op["security"] = [{"bearer": []}]
            op["description"] = (op.get("description", "") + f" Needs the `{r.role}` role or above.").strip()
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in _PARAM.findall(r.path)]
        params += [{"name": n, "in": "query", "required": False, "description": d, "schema": {"type": "string"}}
                   for n, d in r.params.items()]
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": False, "content": {
                "application/json": {"schema": refs[(r.body, "validation")]}}}
        ok: dict[str, Any] = {"description": "OK"}
        if r.response is not None:
            ok["content"] = {r.content_type: {"schema": refs[(r.response, "serialization")]}}
        elif r.content_type:
            kind = "object" if r.content_type == "application/json" else "string"
            ok["content"] = {r.content_type: {"schema": {"type": kind}}}
        responses: dict[str, Any] = {"200": ok}
        statuses = set(r.errors) | ({401, 403, 429} if r.role is not None else set())
        statuses |= {400, 422} if r.body is not None else set()
        error = {"application/json": {"schema": refs[(m.Error, "serialization")]}}
        for status in sorted(statuses):
            responses[str(status)] = {"description": _STATUS_TEXT.get(status, "error"), "content": error}
        op["responses"] = responses
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "callcontrol supervision API", "version": "1",
                 "description": "Switchboard and supervision of the town hall's hotlines (docs/api.md)."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": top.get("$defs", {}),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _op_id(r: RouteDoc) -> str:
    words = re.sub(r"[{}]", "", r.path).strip("/").replace("/", "_").replace("-", "_")
    return f"{r.method.lower()}_{words or 'root'}"


def render_docs(spec: dict[str, Any]) -> str:
    """The spec as one readable HTML page."""
    e = html.escape
    rows = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            ok = op["responses"]["200"].get("content", {})
            out = next(iter(ok.values()), {}).get("schema") if ok else None
            errors = ", ".join(f"{s} {e(v['description'])}" for s, v in op["responses"].items() if s != "200")
            rows.append(
                f"<section><h3><code>{e(method.upper())} {e(path)}</code></h3><p>{e(op['summary'])}. "
                f"{e(op.get('description', ''))}</p>"
                + (f"<p>Body: <code>{e(_name(body))}</code></p>" if body else "")
                + (f"<p>Answer: <code>{e(_name(out))}</code></p>" if out else "")
                + (f"<p>Errors: {errors}</p>" if errors else "") + "</section>"
            )
    schemas = "".join(
        f"<section id='{e(n)}'><h3>{e(n)}</h3><pre>{e(json.dumps(s, indent=2, ensure_ascii=False))}</pre></section>"
        for n, s in spec["components"]["schemas"].items()
    )
    return (
        "<!doctype html><html lang='en'><meta charset='utf-8'><title>callcontrol API</title>"
        "<style>body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "code,pre{background:#f3f3f3;padding:.1rem .3rem}pre{padding:.6rem;overflow:auto}"
        "section{border-top:1px solid #ddd}</style>"
        f"<h1>{e(spec['info']['title'])}</h1><p>{e(spec['info']['description'])} "
        "Machine-readable: <a href='/openapi.json'>/openapi.json</a>. Send <code>Authorization: Bearer "
        "&lt;token&gt;</code>.</p><h2>Routes</h2>" + "".join(rows) + "<h2>Schemas</h2>" + schemas + "</html>"
    )


def _name(schema: dict[str, Any] | None) -> str:
    ref = (schema or {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1] or "object"


_SPEC: web.AppKey[dict[str, Any]] = web.AppKey("openapi_spec", dict)


def spec_of(app: web.Application) -> dict[str, Any]:
    """The app's document, built on first use (every route is added by then). A route added without its RouteDoc
    (routes.documented) is still listed, from its handler's docstring, so the document never misses one."""
    cache = app[_SPEC]
    if not cache:
        cache.update(build_spec([*app[ROUTES], *_undocumented(app)]))
    return cache


def _undocumented(app: web.Application) -> list[RouteDoc]:
    known = {(r.method, r.path) for r in app[ROUTES]}
    found = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method in ("HEAD", "*") or not path or (route.method, path) in known:
            continue
        doc = (getattr(route.handler, "__doc__", None) or "").strip().splitlines()
        found.append(RouteDoc(route.method, path, doc[0].rstrip(".") if doc else "(no description)", tag="other",
                              content_type=""))
        known.add((route.method, path))
    return found


def add_routes(app: web.Application) -> None:
    """/openapi.json and /docs, documented too."""
    app[_SPEC] = {}

    async def spec_json(request: web.Request) -> web.Response:
        return web.json_response(spec_of(request.app))

    async def docs(request: web.Request) -> web.Response:
        return web.Response(text=render_docs(spec_of(request.app)), content_type="text/html")

    documented(app, RouteDoc("GET", "/openapi.json", "This document (OpenAPI 3.1)", tag="docs"), spec_json)
    documented(app, RouteDoc("GET", "/docs", "This document as a readable page", content_type="text/html",
                             tag="docs"), docs)
