"""The OpenAPI document: valid OpenAPI 3.1, generated from the models, listing every route the app serves."""

from __future__ import annotations

from openapi_spec_validator import validate

from callcontrol.supervision.auth import Role

from .conftest import auth


async def test_the_document_is_valid_openapi_31_and_lists_every_route(client) -> None:
    """/openapi.json validates (openapi-spec-validator) and every method + path of the router is in it."""
    response = await client.get("/openapi.json")
    assert response.status == 200
    spec = await response.json()
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    served = {(r.method.lower(), r.resource.canonical) for r in client.app.router.routes()
              if r.method != "HEAD" and r.resource is not None}
    documented = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert served and served <= documented, served - documented
    redirect = spec["paths"]["/api/calls/{call_id}/redirect"]["post"]
    assert redirect["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/RedirectIn")
    assert {"401", "403", "404", "409", "422"} <= set(redirect["responses"])


async def test_the_docs_page_renders_the_routes_without_any_outside_resource(client) -> None:
    """/docs is plain HTML naming each route; no script or stylesheet from elsewhere."""
    text = await (await client.get("/docs")).text()
    assert "POST /api/calls/{call_id}/redirect" in text and "RedirectIn" in text
    assert "http://" not in text and "https://" not in text and "<script" not in text


async def test_unknown_routes_and_methods_answer_json_errors(client) -> None:
    """A wrong path is a JSON 404 and a wrong method a JSON 405, never aiohttp's text page."""
    response = await client.get("/api/nope", headers=auth(Role.VIEWER))
    assert response.status == 404 and (await response.json())["error"] == "not_found"
    response = await client.put("/api/hotlines", headers=auth(Role.VIEWER))
    assert response.status == 405 and (await response.json())["error"] == "method_not_allowed"


async def test_routes_mounted_by_extra_are_in_the_document_too(state, clock, switchboard) -> None:
    """A route added by an `extra` without its RouteDoc still appears, summarised from its handler's docstring."""
    from aiohttp.test_utils import TestClient, TestServer

    from callcontrol.agents.presence import Presence
    from callcontrol.supervision.auth import FailureLimiter, Tokens
    from callcontrol.supervision.deps import SupervisionDeps
    from callcontrol.supervision.server import build_web_app

    async def board(request):
        """The live wallboard."""

    deps = SupervisionDeps(switchboard=switchboard, presence=Presence(state, clock.time), state=state, clock=clock,
                           tokens=Tokens(), limiter=FailureLimiter(clock.monotonic))
    app = build_web_app(deps, extra=[lambda a: a.router.add_get("/board", board)])
    async with TestClient(TestServer(app)) as client:
        spec = await (await client.get("/openapi.json")).json()
    validate(spec)
    assert spec["paths"]["/board"]["get"]["summary"] == "The live wallboard"
