"""The :class:`PushMessage` each device gets for a send: native pass-through or rendered template.

A message that cannot be built for one device (a template that does not compile, a render over
the PNS's size limit, an expiry that is not a date) is a :class:`RenderFailure` value, never an
exception, so one bad device does not fail its batch; :meth:`RenderFailure.to_outcome` records it
like a PNS rejection. A body renders within the platform's payload limit and a header value or
expiry within :data:`MAX_RENDERED_TEXT`: rendering stops as soon as the text passes its limit,
so a render costs at most about a limit's worth of work, whatever the template and properties.

Template rendering follows NH: one message per matching template; bodies are JSON for APNs, FCM,
ADM, Baidu and Xiaomi, XML for WNS (text for ``wns/raw``), and for Web Push JSON when the body
is a JSON object, else text (NH does not define browser templates; a service worker may take
any text).
Header values and the APNs ``expiry`` are themselves template expressions, rendered as text.
Properties: the notification's properties are merged *over* the device's push variables, so a
variable is a per-device default the sender may override (NH does not document the precedence).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.errors import BadRequestError
from shared.pns.base import Outcome, OutcomeKind, Platform, PushMessage, WebPushKeys
from shared.sending._headers import parse_date, pns_header_problem
from shared.sending.formats import (
    NH_PLATFORM_NAMES,
    WNS_RAW,
    delivery_platform,
    oversize_reason,
    pass_through,
    payload_limit,
)
from shared.sending.request import SendRequest
from shared.templates import Properties, TemplateFormat, compile_template

MAX_RENDERED_TEXT = 1024  # characters of a rendered header value or APNs expiry
_JSON_PLATFORMS = frozenset(
    {Platform.APNS, Platform.FCMV1, Platform.ADM, Platform.BAIDU, Platform.XIAOMI}
)


@dataclass(frozen=True, slots=True)
class DeviceTemplate:
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)
    expiry: str | None = None  # APNs: a W3C date, or an expression that renders to one


@dataclass(frozen=True)
class Device:
    """What a send needs to know about one installation (the tag index's delivery view)."""

    installation_id: str
    platform: Platform
    handle: str
    web_push_keys: WebPushKeys | None = None
    templates: Mapping[str, DeviceTemplate] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RenderFailure:
    """Why no message could be built for a device (or one of its templates)."""

    handle: str
    reason: str
    template: str | None = None

    def to_outcome(self) -> Outcome:
        return Outcome(OutcomeKind.PAYLOAD_REJECTED, self.handle, None, self.reason)


RenderResult = PushMessage | RenderFailure


def device_from_view(installation_id: str, view: Mapping[str, Any]) -> Device | None:
    """A :class:`Device` from ``shared.registry.view.delivery_view``'s dict; None when Herald
    does not know its platform."""
    platform = delivery_platform(str(view["platform"]))
    if platform is None:
        return None
    handle, keys = channel_of(view)
    templates = {
        name: DeviceTemplate(t["body"], dict(t.get("headers") or {}), t.get("expiry"))
        for name, t in (view.get("templates") or {}).items()
    }
    return Device(
        installation_id=installation_id,
        platform=platform,
        handle=handle,
        web_push_keys=keys,
        templates=templates,
        variables=view.get("variables") or {},
    )


def channel_of(view: Mapping[str, Any]) -> tuple[str, WebPushKeys | None]:
    """A delivery view's handle, and its Web Push keys if it has them."""
    channel = view["channel"]
    if isinstance(channel, str):  # every platform's but Web Push's
        return channel, None
    if isinstance(channel, Mapping):
        keys = WebPushKeys(p256dh=channel["p256dh"], auth=channel["auth"])
        return str(channel["endpoint"]), keys
    return str(channel), None


class NativeMessages:
    """A native send's message for each device: the same payload and headers for every
    device, so each platform's size limit is checked once, not once per device."""

    def __init__(self, request: SendRequest) -> None:
        self._request = request
        self._platforms = request.platforms
        self._too_big: dict[Platform, str | None] = {}

    def for_view(self, platform: Platform, view: Mapping[str, Any]) -> RenderResult | None:
        """The message for the device ``view`` describes; None when the send's format does
        not reach its platform."""
        if platform not in self._platforms:
            return None
        handle, keys = channel_of(view)
        return self.message(platform, handle, keys)

    def message(self, platform: Platform, handle: str, keys: WebPushKeys | None) -> RenderResult:
        """The message for one device of ``platform``, which the send's format reaches."""
        request = self._request
        if platform not in self._too_big:
            self._too_big[platform] = oversize_reason(platform, request.payload, request.headers)
        too_big = self._too_big[platform]
        if too_big is not None:
            return RenderFailure(handle, too_big)
        return PushMessage(handle, request.payload, request.headers, keys)


def messages_for(
    request: SendRequest,
    device: Device,
    *,
    template_matches: Callable[[str], bool] | None = None,
) -> list[RenderResult]:
    """Every message a device gets: the native payload once (if the send's format reaches
    its platform), or one rendered message per template that ``template_matches`` accepts
    (None: all of them, as for a broadcast)."""
    if device.platform not in request.platforms:
        return []
    if not request.is_template:
        native = NativeMessages(request)
        return [native.message(device.platform, device.handle, device.web_push_keys)]
    return list(render_templates(request, device, template_matches or _every_template))


def direct_messages(request: SendRequest) -> list[RenderResult]:
    """One message per device handle of a direct or batch direct send (always native)."""
    (platform,) = request.platforms
    native = NativeMessages(request)
    return [native.message(platform, d.handle, d.web_push_keys) for d in request.devices]


def render_templates(
    request: SendRequest, device: Device, matches: Callable[[str], bool]
) -> Iterator[RenderResult]:
    """One result per matching template of the device, in template-name order."""
    properties = request.template_properties
    if device.variables:
        properties = properties.over(device.variables)
    for name in sorted(device.templates):
        if matches(name):
            yield _render(device, name, device.templates[name], properties)


def _every_template(name: str) -> bool:
    return True


def _render(
    device: Device, name: str, template: DeviceTemplate, properties: Properties
) -> RenderResult:
    try:
        headers = pass_through(device.platform, _render_headers(template.headers, properties))
        if device.platform is Platform.APNS and template.expiry is not None:
            expiry = _render_text(template.expiry, properties, "expiry").strip()
            if expiry:
                moment = parse_date(expiry, "expiry")
                headers["apns-expiration"] = str(max(0, int(moment.timestamp())))
        body_format = _body_format(device.platform, template.body, headers)
        limit = payload_limit(device.platform, headers)
        # A character is at least one UTF-8 byte: more characters than bytes allowed is over.
        body = compile_template(template.body, body_format).render_within(properties, limit)
    except BadRequestError as exc:
        return RenderFailure(device.handle, f"Template '{name}': {exc.detail}", name)
    if body is None:
        return RenderFailure(device.handle, f"Template '{name}': {_over(device, limit)}", name)
    payload = body.encode()
    too_big = oversize_reason(device.platform, payload, headers)
    if too_big is not None:
        return RenderFailure(device.handle, f"Template '{name}': {too_big}", name)
    return PushMessage(device.handle, payload, headers, device.web_push_keys)


def _over(device: Device, limit: int) -> str:
    platform = NH_PLATFORM_NAMES[device.platform]
    return (
        f"InvalidNotificationSize: the {platform} payload renders longer than its limit of "
        f"{limit} bytes (rendering stopped there)"
    )


def _render_headers(headers: Mapping[str, str], properties: Properties) -> dict[str, str]:
    """Rendered, then held to what the PNS takes: a property must not inject a header line,
    nor a byte the HTTP client would refuse for the whole batch."""
    rendered = {name: _render_text(value, properties, name) for name, value in headers.items()}
    for name, value in rendered.items():
        problem = pns_header_problem(name.lower(), value)
        if problem is not None:
            raise BadRequestError(problem)
    return rendered


def _render_text(text: str, properties: Properties, what: str) -> str:
    template = compile_template(text, TemplateFormat.TEXT)
    rendered = template.render_within(properties, MAX_RENDERED_TEXT)
    if rendered is None:
        raise BadRequestError(f"the {what} renders longer than {MAX_RENDERED_TEXT} characters")
    return rendered


def _body_format(platform: Platform, body: str, headers: Mapping[str, str]) -> TemplateFormat:
    if platform in _JSON_PLATFORMS:
        return TemplateFormat.JSON
    if platform is Platform.WNS:
        raw = headers.get("x-wns-type", "").lower() == WNS_RAW
        return TemplateFormat.TEXT if raw else TemplateFormat.XML
    return TemplateFormat.JSON if body.lstrip().startswith("{") else TemplateFormat.TEXT
