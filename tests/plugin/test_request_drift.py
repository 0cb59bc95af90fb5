"""The plugin's request fields (params.py) against the backend's request models, read from a real
backend's /openapi.json: a field one side has and the other lacks fails, unless it is in the allow-list."""

from __future__ import annotations

import json
import urllib.request

import pytest

from remoteclip_qgis.params import PRECISIONS, ROUTES, request_fields

# Backend request fields the plugin knows of and deliberately never sends: route -> field names.
# Add a field here only with a comment saying why the plugin leaves it to the backend's default.
BACKEND_ONLY: dict[str, frozenset[str]] = {
    # the plugin never forces counting: with a model that cannot count the Count button is off, and a refusal
    # (HTTP 422) is shown in the message bar as the backend's line
    "/count": frozenset({"force"}),
}


def request_schemas(openapi: dict) -> dict[str, dict]:
    """Route -> the JSON schema of its request body, for every route that takes a JSON body."""
    components = openapi.get("components", {}).get("schemas", {})
    out = {}
    for route, item in openapi.get("paths", {}).items():
        for operation in item.values():
            content = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
            if content is None:
                continue
            schema = content["schema"]
            while "$ref" in schema:
                schema = components[schema["$ref"].rsplit("/", 1)[-1]]
            out[route] = schema
    return out


def drift(backend: dict[str, set[str]], plugin: dict[str, set[str]],
          allowed: dict[str, frozenset[str]]) -> list[str]:
    """One line per difference between the backend's request fields and the plugin's (route -> names)."""
    problems = []
    for route in sorted(set(backend) | set(plugin)):
        if route not in plugin:
            problems.append(f"{route}: the backend takes a JSON body the plugin has no parameters for")
            continue
        if route not in backend:
            problems.append(f"{route}: the plugin sends a body the backend has no route for")
            continue
        for name in sorted(plugin[route] - backend[route]):
            problems.append(f"{route}: the plugin sends '{name}', the backend's request has no such field")
        for name in sorted(backend[route] - plugin[route] - allowed.get(route, frozenset())):
            problems.append(f"{route}: the backend takes '{name}', the plugin does not know it")
    return problems


def _plugin_fields() -> dict[str, set[str]]:
    return {route: set(request_fields(route)) for route in ROUTES}


@pytest.fixture(scope="module")
def openapi(backend) -> dict:
    connection = backend.client().connection
    request = urllib.request.Request(connection.url + "/openapi.json",
                                     headers={"Authorization": f"Bearer {connection.token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def test_the_plugin_and_the_backend_agree_on_every_request_field(openapi):
    schemas = request_schemas(openapi)
    assert {"/embed", "/estimate", "/search", "/classify", "/count", "/similar"} <= set(schemas)
    backend = {route: set(schema.get("properties", {})) for route, schema in schemas.items()}
    assert drift(backend, _plugin_fields(), BACKEND_ONLY) == []


def test_the_precisions_are_the_backends(openapi):
    precision = request_schemas(openapi)["/embed"]["properties"]["precision"]
    assert set(precision["enum"]) == set(PRECISIONS)


def test_drift_is_found_both_ways():
    """The comparison itself, on made-up schemas: each kind of drift is one line."""
    plugin = {"/search": {"raster", "queries", "k"}, "/embed": {"raster"}}
    assert drift({"/search": {"raster", "queries", "k"}, "/embed": {"raster"}}, plugin, {}) == []
    assert drift({"/search": {"raster", "queries"}, "/embed": {"raster"}}, plugin, {}) == [
        "/search: the plugin sends 'k', the backend's request has no such field"]
    lines = drift({"/search": {"raster", "queries", "k", "rerank"}, "/embed": {"raster"}}, plugin, {})
    assert lines == ["/search: the backend takes 'rerank', the plugin does not know it"]
    assert drift({"/search": {"raster", "queries", "k", "rerank"}, "/embed": {"raster"}}, plugin,
                 {"/search": frozenset({"rerank"})}) == []
    assert drift({"/search": {"raster", "queries", "k"}}, plugin, {}) == [
        "/embed: the plugin sends a body the backend has no route for"]
    assert drift({**{r: set(f) for r, f in plugin.items()}, "/caption": {"raster"}}, plugin, {}) == [
        "/caption: the backend takes a JSON body the plugin has no parameters for"]
    made_up = {"paths": {"/search": {"post": {"requestBody": {"content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/S"}}}}}}, "/health": {"get": {}}},
        "components": {"schemas": {"S": {"properties": {"raster": {}, "queries": {}}}}}}
    assert {r: set(s["properties"]) for r, s in request_schemas(made_up).items()} == {"/search": {"raster", "queries"}}
