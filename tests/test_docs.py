"""The OpenAPI document at /docs describes every integration endpoint."""

from __future__ import annotations

from hostmgr.api.integration import PREFIX

BODIES = {
    ("post", "/users"): "AccountCreate",
    ("post", "/resellers"): "AccountCreate",
    ("post", "/users/sso"): "SsoRequest",
    ("patch", "/resellers/{username}"): "AccountUpdate",
}


async def test_every_integration_route_is_documented(client, app, db):
    _, response = await client.get("/docs/openapi.json")
    assert response.status == 200
    spec = response.json
    components = spec["components"]["schemas"]

    routes = {
        (method.lower(), route.path)
        for route in app.router.routes
        if route.path.startswith(PREFIX.lstrip("/"))
        for method in route.methods
    }
    assert len(routes) >= 13
    for method, path in routes:
        openapi_path = "/" + path
        for part in openapi_path.split("/"):
            if part.startswith("<"):
                name = part[1:-1].split(":")[0]
                openapi_path = openapi_path.replace(part, "{" + name + "}")
        operation = spec["paths"][openapi_path][method]
        assert operation["summary"], openapi_path
        assert operation["security"] == [{"token": []}]
        ok = [code for code in operation["responses"] if code.startswith("2")]
        assert len(ok) == 1, openapi_path
        schema = operation["responses"][ok[0]]["content"]["application/json"]["schema"]
        assert schema["$ref"].split("/")[-1] in components
        for code in ("401", "403", "429"):
            assert code in operation["responses"], (openapi_path, code)
        expected_body = BODIES.get((method, openapi_path.removeprefix(PREFIX)))
        if expected_body:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body["$ref"].endswith("/" + expected_body)


async def test_load_average_keys_are_documented_exactly(client, db):
    _, response = await client.get("/docs/openapi.json")
    load = response.json["components"]["schemas"]["LoadAverages"]
    assert set(load["properties"]) == {"1", "5", "15"}
