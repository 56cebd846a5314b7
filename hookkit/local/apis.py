"""A template's APIs, for the in-process API: each route of each API and the function behind it.

``--api local`` serves the whole API a local target is behind, so a smoke check calls what a
client would, whichever function answers. Events name their API with ``RestApiId`` (``Type: Api``)
or ``ApiId`` (``Type: HttpApi``); events that name none are on SAM's implicit ``ServerlessRestApi``
or ``ServerlessHttpApi``. Stages and stage variables are the API's own (``Globals.Api`` /
``Globals.HttpApi`` merged).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..core.errors import ConfigurationError
from .intrinsics import NO_VALUE, Resolver, as_text, local_region, merge_globals, section
from .sam import (
    SERVERLESS_FUNCTION,
    ApiRoute,
    FunctionSpec,
    check_parameters,
    event_routes,
    read_template,
    resources_of,
    template_globals,
)

SERVERLESS_API = "AWS::Serverless::Api"
SERVERLESS_HTTP_API = "AWS::Serverless::HttpApi"


@dataclass(frozen=True)
class LocalApi:
    """One API of a template, as the in-process API serves it: its routes and their functions.

    ``routes`` pairs each route with the logical id of the function it invokes. ``stage`` and
    ``stage_variables`` are the API's (SAM's ``Prod`` for the implicit REST API, ``$default``
    for HTTP APIs unless their ``StageName`` says otherwise).
    """

    logical_id: str
    kind: Literal["rest", "http"]
    stage: str
    stage_variables: dict[str, str]
    routes: tuple[tuple[ApiRoute, str], ...]
    warnings: tuple[str, ...] = field(default=())


def template_apis(
    template_path: str | os.PathLike[str],
    *,
    parameters: Mapping[str, str] | None = None,
    use_build: bool = True,
) -> dict[str, LocalApi]:
    """Every API the template's functions are behind, by logical id, with each route's function.

    Events naming no API belong to SAM's implicit ones (:data:`IMPLICIT_REST_API`,
    :data:`IMPLICIT_HTTP_API`). A function whose events cannot be read is left out, with a
    warning on each API (its routes would not exist); two functions on one route of one API is
    a mistake in the template.
    """
    source = Path(template_path)
    reading = read_template(source, None, use_build)
    template, path = reading.template, reading.path
    parameters = dict(parameters or {})
    check_parameters(template, parameters, path)
    resources = resources_of(template, path)
    resolver = Resolver(template, parameters, local_region())
    found: dict[str, list[tuple[ApiRoute, str]]] = {}
    skipped: list[str] = []
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        properties = resource.get("Properties")
        events = properties.get("Events") if isinstance(properties, dict) else None
        try:
            routes = event_routes(events, resolver, logical_id, f"SAM template {path}: {logical_id}")
        except ConfigurationError as exc:
            skipped.append(f"{logical_id}'s routes are left out: {exc}")
            continue
        for route in routes:
            found.setdefault(route.api, []).append((route, logical_id))
    return {api_id: _local_api(api_id, routes, template, resolver, path, skipped) for api_id, routes in found.items()}


def _local_api(
    api_id: str, routes: list[tuple[ApiRoute, str]], template: dict[str, Any], resolver: Resolver, path: Path,
    skipped: list[str],
) -> LocalApi:
    kinds = {route.kind for route, _ in routes}
    if len(kinds) > 1:
        raise ConfigurationError(
            f"SAM template {path}: API {api_id} is named by both Api events (a REST API) and HttpApi events "
            "(an HTTP API); fix RestApiId/ApiId"
        )
    (kind,) = kinds
    owners: dict[tuple[str, str], str] = {}
    unique: list[tuple[ApiRoute, str]] = []
    for route, function in routes:
        key = (route.method, route.path)
        if key in owners:
            if owners[key] != function:
                raise ConfigurationError(
                    f"SAM template {path}: {route.method} {route.path} on API {api_id} invokes both "
                    f"{owners[key]} and {function}; one route has one integration: fix the events"
                )
            continue
        owners[key] = function
        unique.append((route, function))
    resource = section(template, "Resources").get(api_id)
    resource = resource if isinstance(resource, dict) else {}
    # SAM's names per kind: the Globals section, the resource type, its stage variables, the default stage
    globals_name, resource_type, variables_key, stage = (
        ("Api", SERVERLESS_API, "Variables", "Prod") if kind == "rest"
        else ("HttpApi", SERVERLESS_HTTP_API, "StageVariables", "$default")
    )
    defaults = template_globals(template, globals_name)
    declared = resource.get("Type") == resource_type  # else SAM's implicit API, which only Globals configure
    properties = merge_globals(defaults, resource.get("Properties") or {}) if declared else defaults
    properties = properties if isinstance(properties, dict) else {}
    where = f"{api_id}.Properties"
    named = resolver.resolve(properties.get("StageName"), f"{where}.StageName") if declared else None
    variables = resolver.resolve(properties.get(variables_key), f"{where}.{variables_key}")
    return LocalApi(
        logical_id=api_id,
        kind=kind,
        stage=as_text(named) if named not in (None, NO_VALUE, "") else stage,
        stage_variables={str(k): as_text(v) for k, v in variables.items()} if isinstance(variables, dict) else {},
        routes=tuple(unique),
        warnings=tuple(skipped),
    )


def served_api(apis: Mapping[str, LocalApi], spec: FunctionSpec, choice: str | None) -> LocalApi:
    """The API ``--api local`` serves: ``choice`` if named, else the one ``spec``'s events are on, else
    the template's only API; anything else is a ConfigurationError saying which to name."""
    named = ", ".join(apis) or "(none)"
    if choice is not None:
        if choice not in apis:
            raise ConfigurationError(
                f"--api local:{choice}: no function of the template has Api or HttpApi events on {choice}; "
                f"APIs with routes: {named}"
            )
        return apis[choice]
    mine = list(dict.fromkeys(route.api for route in spec.routes))
    if len(mine) == 1:
        return apis[mine[0]]
    if mine:
        raise ConfigurationError(
            f"--api local: {spec.logical_id} is behind {len(mine)} APIs ({', '.join(mine)}); serve one with "
            f"--api local:API (e.g. --api local:{mine[0]})"
        )
    if len(apis) == 1:
        return next(iter(apis.values()))
    if not apis:
        raise ConfigurationError(
            f"--api local: {spec.logical_id} has no Api or HttpApi events in the template, and no other "
            "function has any, so no route exists"
        )
    raise ConfigurationError(
        f"--api local: {spec.logical_id} has no Api or HttpApi events, and the template has {len(apis)} APIs "
        f"({named}); serve one with --api local:API"
    )
