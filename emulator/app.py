"""Discover a v1-model Functions app: host.json, function folders, settings and modules.

Each function folder is imported as ``__app__.<folder>``, with ``__app__`` a namespace package
rooted at the app directory and the app directory on ``sys.path``, which is what Azure's Python
worker does; so relative imports and absolute imports of the app's packages both behave as on
Azure.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.routes import RouteTemplate

TRIGGER_TYPES = frozenset({"httpTrigger", "queueTrigger", "timerTrigger"})
OUTPUT_TYPES = frozenset({"http", "queue"})
_SETTING_REF = re.compile(r"%([^%]+)%")


class AppLoadError(RuntimeError):
    """The app cannot be loaded as Azure's host would load it."""


def _timespan_seconds(value: str) -> float:
    """Parse a .NET TimeSpan such as ``00:00:30`` or ``1.00:00:00`` into seconds."""
    match = re.fullmatch(r"(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)", value.strip())
    if match is None:
        raise AppLoadError(f"host.json: {value!r} is not a TimeSpan (hh:mm:ss)")
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@dataclass(frozen=True)
class QueueOptions:
    """``extensions.queues`` in host.json, with the Storage extension's own defaults."""

    max_polling_interval: float = 60.0
    visibility_timeout: float = 0.0
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_dequeue_count: int = 5
    message_encoding: str = "base64"

    @classmethod
    def from_host_json(cls, queues: Mapping[str, Any]) -> QueueOptions:
        batch_size = int(queues.get("batchSize", cls.batch_size))
        if not 1 <= batch_size <= 32:
            raise AppLoadError("host.json: extensions.queues.batchSize must be 1..32")
        encoding = str(queues.get("messageEncoding", cls.message_encoding)).lower()
        if encoding not in ("base64", "none"):
            raise AppLoadError("host.json: extensions.queues.messageEncoding is base64 or none")
        return cls(
            max_polling_interval=max(
                0.1, _timespan_seconds(queues.get("maxPollingInterval", "00:01:00"))
            ),
            visibility_timeout=_timespan_seconds(queues.get("visibilityTimeout", "00:00:00")),
            batch_size=batch_size,
            new_batch_threshold=int(queues.get("newBatchThreshold", batch_size // 2)),
            max_dequeue_count=int(queues.get("maxDequeueCount", cls.max_dequeue_count)),
            message_encoding=encoding,
        )


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    queues: QueueOptions = field(default_factory=QueueOptions)

    @classmethod
    def load(cls, app_dir: Path) -> HostConfig:
        path = app_dir / "host.json"
        if not path.is_file():
            raise AppLoadError(f"{path} is missing")
        host = json.loads(path.read_text())
        if host.get("version") != "2.0":
            raise AppLoadError('host.json: "version" must be "2.0"')
        extensions = host.get("extensions", {})
        return cls(
            route_prefix=str(extensions.get("http", {}).get("routePrefix", "api")).strip("/"),
            queues=QueueOptions.from_host_json(extensions.get("queues", {})),
        )


@dataclass(frozen=True)
class Binding:
    name: str
    type: str
    direction: str
    raw: Mapping[str, Any]

    def setting(self, key: str, default: str | None = None) -> str | None:
        """A binding property with ``%AppSetting%`` references resolved."""
        value = self.raw.get(key, default)
        if value is None:
            return None
        return resolve_settings(str(value))


@dataclass(frozen=True)
class FunctionDef:
    name: str
    directory: Path
    trigger: Binding
    bindings: tuple[Binding, ...]
    module_name: str
    entry_point: str
    route: RouteTemplate | None = None
    methods: frozenset[str] | None = None
    auth_level: str = "function"

    @property
    def outputs(self) -> tuple[Binding, ...]:
        return tuple(b for b in self.bindings if b.direction == "out")


def resolve_settings(value: str) -> str:
    """Replace ``%Name%`` with the app setting ``Name``, as binding expressions do."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise AppLoadError(f"app setting {name!r} is referenced but not set")
        return os.environ[name]

    return _SETTING_REF.sub(lookup, value)


def load_local_settings(app_dir: Path) -> None:
    """Apply local.settings.json ``Values``; variables already in the environment win."""
    path = app_dir / "local.settings.json"
    if not path.is_file():
        return
    values = json.loads(path.read_text()).get("Values", {})
    for key, value in values.items():
        os.environ.setdefault(key, str(value))


def _install_app_namespace(app_dir: Path) -> None:
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    existing = sys.modules.get("__app__")
    if existing is not None and list(getattr(existing, "__path__", [])) == [str(app_dir)]:
        return
    namespace = types.ModuleType("__app__")
    namespace.__path__ = [str(app_dir)]
    sys.modules["__app__"] = namespace


def _binding(raw: Mapping[str, Any], folder: str) -> Binding:
    try:
        return Binding(
            name=str(raw["name"]), type=str(raw["type"]), direction=str(raw["direction"]), raw=raw
        )
    except KeyError as missing:
        raise AppLoadError(f"{folder}/function.json: a binding has no {missing}") from None


def _function(app_dir: Path, folder: Path, route_prefix: str) -> FunctionDef:
    spec = json.loads((folder / "function.json").read_text())
    bindings = tuple(_binding(b, folder.name) for b in spec.get("bindings", []))
    triggers = [b for b in bindings if b.type in TRIGGER_TYPES and b.direction == "in"]
    if len(triggers) != 1:
        raise AppLoadError(f"{folder.name}: a function needs exactly one supported trigger")
    for binding in bindings:
        if binding.direction == "out" and binding.type not in OUTPUT_TYPES:
            raise AppLoadError(f"{folder.name}: output binding type {binding.type!r} unsupported")
    trigger = triggers[0]
    script = Path(spec.get("scriptFile", "__init__.py"))
    module = f"__app__.{folder.name}"
    if script.name != "__init__.py":
        module += "." + script.stem
    route = methods = None
    if trigger.type == "httpTrigger":
        route_text = str(trigger.raw.get("route") or folder.name)
        route = RouteTemplate.parse(f"{route_prefix}/{route_text}" if route_prefix else route_text)
        if trigger.raw.get("methods"):
            methods = frozenset(m.upper() for m in trigger.raw["methods"])
    return FunctionDef(
        name=folder.name,
        directory=folder,
        trigger=trigger,
        bindings=bindings,
        module_name=module,
        entry_point=str(spec.get("entryPoint", "main")),
        route=route,
        methods=methods,
        auth_level=str(trigger.raw.get("authLevel", "function")).lower(),
    )


def discover(app_dir: Path, route_prefix: str) -> list[FunctionDef]:
    """Every enabled function folder under ``app_dir``, sorted by name."""
    functions = []
    for folder in sorted(p for p in app_dir.iterdir() if (p / "function.json").is_file()):
        if os.environ.get(f"AzureWebJobs.{folder.name}.Disabled", "").lower() == "true":
            continue
        functions.append(_function(app_dir, folder, route_prefix))
    return functions


def import_entry_point(app_dir: Path, function: FunctionDef) -> Any:
    """Import the function's module as the worker does and return its entry point."""
    _install_app_namespace(app_dir)
    module = importlib.import_module(function.module_name)
    entry = getattr(module, function.entry_point, None)
    if not callable(entry):
        raise AppLoadError(f"{function.name}: {function.entry_point!r} is not a function")
    return entry
