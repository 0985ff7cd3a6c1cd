"""The API description: the host serves docs/openapi.yaml as it is, and it describes every
route a function folder serves (so a new route cannot land undescribed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import yaml

from support.processes import REPO, HostProcess

SPEC = REPO / "docs" / "openapi.yaml"
_PARAMETER = re.compile(r"\{[^}]*\}")


def _http_routes() -> dict[str, tuple[str, set[str]]]:
    """Function folder -> (route template, methods) of every HTTP function."""
    routes = {}
    for spec in REPO.glob("*/function.json"):
        trigger = next(
            b for b in json.loads(spec.read_text())["bindings"] if b["direction"] == "in"
        )
        if trigger["type"] == "httpTrigger":
            methods = {m.lower() for m in trigger.get("methods", [])}
            routes[spec.parent.name] = (trigger["route"], methods)
    return routes


def _variants(template: str) -> list[str]:
    """The concrete shapes of a route: with and without each trailing optional parameter."""
    segments = template.strip("/").split("/")
    shapes = ["/" + "/".join(segments)]
    while segments and segments[-1].endswith("?}"):
        segments = segments[:-1]
        shapes.append("/" + "/".join(segments))
    return shapes


def _skeleton(path: str) -> str:
    """The path with its parameters blanked, in lower case (the host's routes ignore case)."""
    return _PARAMETER.sub("{}", path.replace("?}", "}")).lower()


def test_every_function_route_is_described() -> None:
    paths = yaml.safe_load(SPEC.read_text())["paths"]
    described = {_skeleton(path): set(item) for path, item in paths.items()}
    missing = []
    for folder, (template, methods) in _http_routes().items():
        if template == "{*path}":
            continue  # the catch-all: what no other route takes, NH's 404
        found: set[str] = set()  # each method on some shape of the route
        for shape in _variants(template):
            if "{*" in shape:  # a catch-all tail: described paths that extend the prefix
                prefix = _skeleton(shape.split("/{*")[0])
                found |= {m for p, ms in described.items() if p.startswith(prefix) for m in ms}
            else:
                found |= described.get(_skeleton(shape), set())
        missing += [f"{folder}: {m.upper()} /{template}" for m in sorted(methods - found)]
    assert missing == [], "routes docs/openapi.yaml does not describe"


def test_the_host_serves_the_description(app: HostProcess) -> None:
    served = httpx.get(f"{app.url}/openapi.yaml")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/yaml")
    assert served.content == SPEC.read_bytes()
    assert "/openapi.yaml" in yaml.safe_load(served.content)["paths"]
    refused = httpx.post(f"{app.url}/openapi.yaml")
    assert refused.status_code == 404  # NH's 404, from the catch-all


def test_the_description_ships_with_the_app() -> None:
    for ignore in (".funcignore", ".dockerignore"):
        lines = Path(REPO / ignore).read_text().splitlines()
        assert "!docs/openapi.yaml" in lines, ignore
