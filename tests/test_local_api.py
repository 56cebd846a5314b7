"""--api local serves the whole API the target is behind: every route, each invoking its own function."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hookkit.checks.smoke import Api
from hookkit.ci.wiring import Said, api_factory, parse_target
from hookkit.core.errors import ConfigurationError
from hookkit.hook.clients import Clients
from hookkit.local.apis import template_apis
from hookkit.local.sam import ApiRoute

HERE = Path(__file__).parent / "fixtures" / "localapi"
TEMPLATE = HERE / "template.yaml"


def local_api(target: str, api: str = "local", env_vars: Any = None) -> tuple[Api, Said]:
    spec = parse_target(f"local:{TEMPLATE}#{target}", parameters={}, clients=Clients(), env_vars=env_vars)
    said = Said()
    make = api_factory(api, spec, Clients(), env_vars=env_vars, said=said)
    return make(SimpleNamespace(base_dir=None), 5.0), said  # type: ignore[arg-type]


def test_the_templates_apis_with_each_routes_function() -> None:
    apis = template_apis(TEMPLATE)
    assert set(apis) == {"ServerlessRestApi", "AdminApi", "ServerlessHttpApi"}
    rest = apis["ServerlessRestApi"]
    assert (rest.kind, rest.stage, rest.stage_variables) == ("rest", "Prod", {"table": "orders-global"})
    assert [(route.method, route.path, function) for route, function in rest.routes] == [
        ("GET", "/orders/{orderId}", "OrdersFunction"), ("HEAD", "/orders/{orderId}", "OrdersFunction"),
        ("GET", "/users/{userId}", "UsersFunction"), ("GET", "/node", "NodeFunction"),
        ("GET", "/items/{itemId}", "ItemsFunction"),
    ]
    admin = apis["AdminApi"]
    assert (admin.kind, admin.stage, admin.stage_variables) == ("http", "admin", {"level": "high"})
    assert admin.routes == ((ApiRoute("ANY", "/admin/{proxy+}", "2.0", "AdminApi", "http"), "AdminFunction"),)
    implicit_http = apis["ServerlessHttpApi"]
    assert (implicit_http.stage, implicit_http.stage_variables) == ("$default", {})
    assert implicit_http.routes == (
        (ApiRoute("GET", "/items/{itemId}", "1.0", "ServerlessHttpApi", "http"), "ItemsFunction"),
    )


def test_every_route_of_the_targets_api_invokes_its_own_function() -> None:
    api, said = local_api("OrdersFunction")

    api.get("/orders/ORD-1").expect(status=200, fields={
        "/function": "orders", "/orderId": "ORD-1", "/stage": "Prod", "/stageVariables": {"table": "orders-global"},
    })
    api.get("/users/u-7").expect(status=200, fields={"/function": "users", "/userId": "u-7"})
    assert api.get("/items/3").json()["function"] == "items"  # ItemsFunction's REST route is on this API too
    # AdminFunction is on another API; NodeFunction cannot run here
    assert (api.get("/admin/x").status, api.get("/node").status) == (403, 502)
    assert any(w.startswith("--api local: routes to NodeFunction answer 502 Internal server error: ") and
               "runs on nodejs20.x" in w for w in said.warnings)
    assert [n.split(";")[0] for n in said.notes] == [
        "UsersFunction: Runtime python3.12", "ItemsFunction: Runtime python3.12",
    ]


def test_head_answers_without_a_body() -> None:
    api, _ = local_api("OrdersFunction")
    answer = api.request("HEAD", "/orders/ORD-1")
    assert (answer.status, answer.content, answer.headers["Content-Type"]) == (200, b"", "application/json")


def test_another_function_is_read_up_front_but_imported_only_when_called(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    env = tmp_path / "env.json"
    env.write_text(json.dumps({"UsersFunction": {"IMPORT_MARKER": str(marker)}}))
    api, _ = local_api("OrdersFunction", env_vars=str(env))

    api.get("/orders/1").expect(status=200)
    assert not marker.exists()
    api.get("/users/1").expect(status=200)
    assert marker.read_text() == "imported"


def test_an_http_api_named_with_local_colon() -> None:
    api, _ = local_api("OrdersFunction", "local:AdminApi")
    answer = api.get("/admin/reports/today")
    assert (answer.status, answer.text) == (200, "admin reports/today on admin")
    assert api.get("/orders/1").status == 404  # an HTTP API's answer for no route


def test_a_target_behind_two_apis_asks_for_one() -> None:
    with pytest.raises(ConfigurationError) as caught:
        local_api("ItemsFunction")
    assert str(caught.value) == (
        "--api local: ItemsFunction is behind 2 APIs (ServerlessHttpApi, ServerlessRestApi); serve one with "
        "--api local:API (e.g. --api local:ServerlessHttpApi)"
    )
    api, _ = local_api("ItemsFunction", "local:ServerlessHttpApi")
    api.get("/items/9").expect(status=200, fields={"/function": "items", "/version": "1.0", "/itemId": "9"})


def test_an_unknown_api_is_refused_listing_the_apis() -> None:
    with pytest.raises(ConfigurationError) as caught:
        local_api("OrdersFunction", "local:Nope")
    assert str(caught.value) == (
        "--api local:Nope: no function of the template has Api or HttpApi events on Nope; APIs with routes: "
        "ServerlessRestApi, AdminApi, ServerlessHttpApi"
    )


def write_template(folder: Path, resources: str) -> Path:
    (folder / "src").mkdir(exist_ok=True)
    (folder / "src" / "app.py").write_text("def handler(event, context):\n    return {'statusCode': 204}\n")
    path = folder / "template.yaml"
    path.write_text("Globals:\n  Function: {CodeUri: src, Handler: app.handler}\nResources:\n"
                    + textwrap.indent(textwrap.dedent(resources), "  "))
    return path


def test_two_functions_on_one_route_is_a_template_mistake(tmp_path: Path) -> None:
    path = write_template(tmp_path, """\
        A:
          Type: AWS::Serverless::Function
          Properties: {Events: {E: {Type: Api, Properties: {Path: /x, Method: get}}}}
        B:
          Type: AWS::Serverless::Function
          Properties: {Events: {E: {Type: Api, Properties: {Path: /x, Method: GET}}}}
        """)
    with pytest.raises(ConfigurationError, match=r"GET /x on API ServerlessRestApi invokes both A and B; one route"):
        template_apis(path)


def test_a_target_without_events_gets_the_templates_only_api(tmp_path: Path) -> None:
    path = write_template(tmp_path, """\
        Worker: {Type: AWS::Serverless::Function}
        Web: {Type: AWS::Serverless::Function, Properties: {Events: {E: {Type: HttpApi, Properties: {Path: /w}}}}}
        """)
    spec = parse_target(f"local:{path}#Worker", parameters={}, clients=Clients())
    api = api_factory("local", spec, Clients())(SimpleNamespace(base_dir=None), 5.0)  # type: ignore[arg-type]
    assert api.get("/w").status == 204
