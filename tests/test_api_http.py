"""The HTTP edge itself: problem details, the body limit, security headers, CORS, the access
log and the docs served without a CDN."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from egide.services import quotes
from egide.settings import Settings, UnsafeEnvironment, check_environment
from tests.api_support import ApiWorld, api_world, application, make_world

__all__ = ["api_world"]
PROBLEM_KEYS = {"type", "title", "status", "detail"}


def is_problem(answer: object, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = answer.json()
    assert set(body) >= PROBLEM_KEYS and body["status"] == status
    assert str(body["type"]).startswith("urn:egide:problem:")
    return body


def test_invalid_input_names_each_field_and_rule_from_the_schema_and_the_domain(
    api_world: ApiWorld,
) -> None:
    data = application()
    data["establishment"]["siret"] = 73282932000074  # a number: the schema's type rule
    data["establishment"]["colour"] = "blue"
    answer = api_world.http.post("/api/v1/quotes", json=data, headers=api_world.auth("broker_a"))
    errors = is_problem(answer, 422)["errors"]
    assert {(e["field"], e["rule"]) for e in errors} == {  # type: ignore[union-attr]
        ("establishment.siret", "type"),
        ("establishment.colour", "unknown_key"),
    }
    assert "73282932000074" not in answer.text  # the value is never echoed

    data = application(siret="73282932000075")  # well-formed, wrong check digit: the domain's
    data["cover"]["limit"] = 123
    answer = api_world.http.post("/api/v1/quotes", json=data, headers=api_world.auth("broker_a"))
    errors = is_problem(answer, 422)["errors"]
    assert {(e["field"], e["rule"]) for e in errors} == {  # type: ignore[union-attr]
        ("establishment.siret", "siret"),
        ("cover.limit", "product_option"),
    }


def test_a_query_out_of_bounds_and_a_malformed_body_are_422_problems(api_world: ApiWorld) -> None:
    auth = api_world.auth("broker_a")
    errors = is_problem(api_world.http.get("/api/v1/quotes?limit=0", headers=auth), 422)["errors"]
    assert [(e["field"], e["rule"]) for e in errors] == [("limit", "range")]  # type: ignore[union-attr]
    broken = api_world.http.post(
        "/api/v1/quotes",
        content=b"{not json",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert is_problem(broken, 422)["errors"][0]["rule"] == "json"  # type: ignore[index]


def test_unknown_routes_and_methods_are_404_and_405_problems(api_world: ApiWorld) -> None:
    is_problem(api_world.http.get("/api/v1/nothing-here"), 404)
    is_problem(api_world.http.delete("/api/v1/product", headers=api_world.auth("broker_a")), 405)


def test_a_body_over_one_mebibyte_is_refused_with_413_before_it_is_parsed(
    api_world: ApiWorld,
) -> None:
    auth = {**api_world.auth("broker_a"), "Content-Type": "application/json"}
    big = b'{"x": "' + b"a" * (1024 * 1024) + b'"}'
    is_problem(api_world.http.post("/api/v1/quotes", content=big, headers=auth), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(20):
            yield b"a" * 65536

    streamed = api_world.http.post("/api/v1/quotes", content=chunks(), headers=auth)
    is_problem(streamed, 413)
    # without a token too: the limit comes first
    is_problem(api_world.http.post("/api/v1/oauth/token", content=big), 413)


def test_an_unexpected_error_is_a_500_problem_that_reveals_nothing(
    api_world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("patient Jeanne Dupont, SIRET 73282932000074")

    monkeypatch.setattr(quotes, "get_quote", broken)
    answer = api_world.http.get("/api/v1/quotes/DEV-1", headers=api_world.auth("broker_a"))
    body = is_problem(answer, 500)
    assert body["detail"] == "internal error"
    assert "Dupont" not in answer.text and "RuntimeError" not in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_every_response_carries_the_security_headers(api_world: ApiWorld) -> None:
    auth = api_world.auth("broker_a")
    for answer in (
        api_world.http.get("/api/v1/product", headers=auth),
        api_world.http.get("/api/v1/nothing"),
        api_world.http.get("/api/v1/openapi.json"),
        api_world.http.post("/api/v1/oauth/token", data={}),
    ):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp


def test_the_docs_are_served_by_the_app_under_a_csp_that_allows_them(
    api_world: ApiWorld,
) -> None:
    page = api_world.http.get("/api/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "<script>" not in page.text  # no inline script: the CSP forbids it
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/api/docs/") for s in sources)  # no CDN
    for source in sources:
        assert api_world.http.get(source).status_code == 200, source
    init = api_world.http.get("/api/docs/init.js").text
    assert "/api/v1/openapi.json" in init


def test_every_route_documents_its_problem_responses(api_world: ApiWorld) -> None:
    spec = api_world.http.get("/api/v1/openapi.json").json()
    assert "Problem" in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        assert path.startswith("/api/v1/")
        for method, operation in operations.items():
            documented = operation["responses"]
            assert {"413", "500"} <= set(documented), (method, path)
            if path != "/api/v1/oauth/token":
                assert {"401", "422"} <= set(documented), (method, path)
                assert "application/problem+json" in documented["401"]["content"]


def test_cors_is_closed_by_default(api_world: ApiWorld) -> None:
    preflight = api_world.http.options(
        "/api/v1/quotes",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers


@pytest.fixture
def cors_world(tmp_path: Path) -> Iterator[ApiWorld]:
    url = f"sqlite:///{tmp_path / 'cors.db'}"
    yield from make_world(url, Settings(database_url=url, cors_origins="https://app.example"))


def test_cors_answers_only_the_configured_origins(cors_world: ApiWorld) -> None:
    def preflight(origin: str) -> dict[str, str]:
        return dict(
            cors_world.http.options(
                "/api/v1/quotes",
                headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            ).headers
        )

    assert preflight("https://app.example")["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in preflight("https://evil.example")


def test_the_access_log_is_one_json_line_without_query_tokens_or_bodies(
    api_world: ApiWorld, caplog: pytest.LogCaptureFixture
) -> None:
    token = api_world.tokens["broker_a"]
    with caplog.at_level(logging.INFO, logger="egide.api.access"):
        api_world.http.get(
            "/api/v1/quotes?status=referred&created_from=2026-01-31",
            headers=api_world.auth("broker_a"),
        )
        api_world.http.post(
            "/api/v1/quotes", json=application(), headers=api_world.auth("broker_a")
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "egide.api.access"]
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert (first["method"], first["path"], first["status"]) == ("GET", "/api/v1/quotes", 200)
    assert first["principal"].startswith("client:egc_")
    assert second["status"] == 201
    text = "\n".join(lines)
    for secret in (token, "referred", "2026-01-31", "73282932000074", "Établissement"):
        assert secret not in text


def test_production_refuses_placeholder_secrets_and_an_open_cors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EGIDE_ENV", "production")
    key = "".join(f"{i * 37 % 256:02x}" for i in range(32))  # 32 distinct bytes
    base = {"audit_key": key}
    check_environment(Settings(database_url="postgresql://egide:Xk29fj3LqP@db/egide", **base))
    for bad in (
        {"database_url": "postgresql://egide:changeme@db/egide"},
        {"database_url": "sqlite://", "redis_url": "redis://:password@cache:6379/0"},
        {"database_url": "sqlite://", "cors_origins": "*"},
    ):
        with pytest.raises(UnsafeEnvironment):
            check_environment(Settings(**{**base, **bad}))


def test_startup_hooks_run_in_order_and_shutdown_hooks_in_reverse(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from egide.api.app import create_app

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'hooks.db'}"))
    ran: list[str] = []

    async def started(_app: object) -> None:
        ran.append("async start")

    app.state.on_startup.append(lambda _app: ran.append("start"))
    app.state.on_startup.append(started)
    app.state.on_shutdown.append(lambda _app: ran.append("stop"))
    with TestClient(app):
        assert ran == ["start", "async start"]
    assert ran == ["start", "async start", "stop"]
