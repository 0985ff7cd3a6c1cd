"""The classic device SDKs' registration calls, sent byte for byte as they send them.

Neither SDK runs here (they need Android and iOS), so each test replays the requests their
sources build, and reads the answers the way their parsers do:

- **Android**, ``com.microsoft.windowsazure.messaging.NotificationHub`` (azure-notificationhubs-
  android, the legacy class): ``Connection`` adds ``?api-version=2014-09``, signs the whole https
  URL (``sr`` URL-encoded and lower-cased) and sends ``Content-Type: application/atom+xml``.
  ``register`` first lists the handle's registrations (``refreshRegistrationInformation``:
  ``Registrations/?$filter=`` + ``URLEncoder.encode("FcmV1RegistrationId eq '…'")``), then
  ``POST registrationids/`` (the id is the Location path's last segment) and ``PUT
  Registrations/{id}`` with ``Registration.toXml()``: an entry with ``<id>``, then the
  description (``ETag``, ``ExpirationTime``, ``RegistrationId``, ``Tags`` as read back last
  time, then the handle; templates add ``BodyTemplate`` in CDATA and ``TemplateName``). It
  parses ``ExpirationTime`` with exactly three fractional digits, and unregisters with
  ``DELETE Registrations/{id}`` and ``If-Match: *``.
- **iOS**, ``SBNotificationHub`` (azure-notificationhubs-ios, api-version 2013-04): ``sr`` is the
  full URL with ``https`` turned into ``http``; ``Registrations/?$filter=deviceToken+eq+'…'``
  (plus signs, raw quotes); ``POST registrationids/``; ``PUT Registrations/{id}`` with
  ``Content-Type: application/xml`` and ``<content type="text/xml">``, its template members in
  its own order (``Expiry``, ``Priority``, ``TemplateName``); ``NSXMLParser`` reads
  ``ExpirationTime`` as ``yyyy-MM-dd'T'HH:mm:ss.SSS'Z'``.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlsplit

import httpx
from registry.storage_view import installation_rows

from shared.auth.sas import generate_sas_token
from shared.engine import Engine
from shared.hubs.model import LISTEN_POLICY
from support.stack import NhCaller

from .wire import description, feed

NH = (
    'xmlns:i="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"'
)
ANDROID_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
FCM_TOKEN = "dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"
APNS_TOKEN = "0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F9"


class Device:
    """A device SDK's requests: its paths, query strings, token and headers."""

    def __init__(self, nh: NhCaller, api_version: str, *, http_audience: bool) -> None:
        self.nh, self.api_version, self.http_audience = nh, api_version, http_audience
        self.policy = nh.hub.policies[LISTEN_POLICY]  # devices hold the Listen key

    def url(self, resource: str) -> str:
        joined = "&" if "?" in resource else "?"
        version = f"api-version={self.api_version}"
        return f"{self.nh.base_url}/{self.nh.hub.name}/{resource}{joined}{version}"

    def token(self, url: str) -> str:
        audience = "https://" + url.split("://", 1)[1]
        if self.http_audience:  # SBTokenProvider: https becomes http
            audience = audience.replace("https://", "http://", 1)
        return generate_sas_token(
            audience,
            key_name=self.policy.name,
            key=self.policy.primary_key,
            expiry=int(time.time()) + 300,
        )

    async def send(
        self, http: httpx.AsyncClient, method: str, resource: str, body: str = "", **headers: str
    ) -> httpx.Response:
        url = self.url(resource)
        headers = {"Authorization": self.token(url), **headers}
        return await http.request(method, url, content=body.encode(), headers=headers)


def android_entry(hub: str, registration_id: str, members: str, root: str) -> str:
    """``Registration.toXml()``: the entry's id, then the description (no ``updated`` yet)."""
    return (
        '<entry xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{hub}/Registrations/{registration_id}</id>"
        f'<content type="application/xml"><{root} {NH}>{members}</{root}></content></entry>'
    )


def ios_entry(members: str, root: str) -> str:
    return (
        '<entry xmlns="http://www.w3.org/2005/Atom"><content type="text/xml">'
        f"<{root} {NH}>{members}</{root}></content></entry>"
    )


def last_segment(location: str) -> str:
    return urlsplit(location).path.rstrip("/").rsplit("/", 1)[1]


async def test_android_registers_relaunches_and_unregisters(nh: NhCaller, engine: Engine) -> None:
    android = Device(nh, "2014-09", http_audience=False)
    atom = {"Content-Type": "application/atom+xml"}
    hub = nh.hub.name
    handle_filter = quote(f"FcmV1RegistrationId eq '{FCM_TOKEN}'", safe="").replace("%20", "+")
    template = '{"message":{"notification":{"title":"$(title)"}}}'
    async with httpx.AsyncClient() as http:
        first_refresh = await android.send(
            http, "GET", f"Registrations/?$filter={handle_filter}", **atom
        )
        native_id = last_segment(
            (await android.send(http, "POST", "registrationids/", **atom)).headers["Location"]
        )
        native_members = f"<RegistrationId>{native_id}</RegistrationId><Tags>news,sports</Tags>"
        native_members += f"<FcmV1RegistrationId>{FCM_TOKEN}</FcmV1RegistrationId>"
        native = await android.send(
            http, "PUT", f"Registrations/{native_id}",
            android_entry(hub, native_id, native_members, "FcmV1RegistrationDescription"), **atom,
        )  # fmt: skip
        template_id = last_segment(
            (await android.send(http, "POST", "registrationids/", **atom)).headers["Location"]
        )
        template_members = (
            f"<RegistrationId>{template_id}</RegistrationId><Tags>news</Tags>"
            f"<FcmV1RegistrationId>{FCM_TOKEN}</FcmV1RegistrationId>"
            f"<BodyTemplate><![CDATA[{template}]]></BodyTemplate><TemplateName>headline"
            "</TemplateName>"
        )
        templated = await android.send(
            http, "PUT", f"Registrations/{template_id}",
            android_entry(hub, template_id, template_members,
                          "FcmV1TemplateRegistrationDescription"), **atom,
        )  # fmt: skip
        _, answered = description(native.content)
        before = await installation_rows(engine, hub)

        # The next launch: register again, echoing ETag and ExpirationTime it read back.
        relaunch_members = (
            f"<ETag>{answered['ETag']}</ETag><ExpirationTime>{answered['ExpirationTime']}"
            f"</ExpirationTime>{native_members}"
        )
        relaunch = await android.send(
            http, "PUT", f"Registrations/{native_id}",
            android_entry(hub, native_id, relaunch_members, "FcmV1RegistrationDescription"),
            **atom,
        )  # fmt: skip
        after = await installation_rows(engine, hub)
        refresh = await android.send(http, "GET", f"Registrations/?$filter={handle_filter}", **atom)
        unregister = await android.send(
            http, "DELETE", f"Registrations/{native_id}", **atom, **{"If-Match": "*"}
        )
        gone = await android.send(http, "GET", f"Registrations/{native_id}", **atom)

    assert first_refresh.status_code == 200
    assert feed(first_refresh.content) == []
    assert (native.status_code, templated.status_code, relaunch.status_code) == (200, 200, 200)
    assert "<FcmV1TemplateRegistrationDescription" in templated.text  # isTemplateRegistration()
    assert ANDROID_TIME.fullmatch(answered["ExpirationTime"])
    assert answered["RegistrationId"] == native_id
    assert answered["Tags"].split(",") == ["news", "sports"]
    assert answered["FcmV1RegistrationId"] == FCM_TOKEN
    assert description(relaunch.content)[1]["ETag"] == answered["ETag"] == "1"
    assert after == before  # the relaunch wrote nothing
    listed = {m["RegistrationId"]: (kind, m) for kind, m in feed(refresh.content)}
    assert set(listed) == {native_id, template_id}
    kind, members = listed[template_id]
    assert kind == "FcmV1TemplateRegistrationDescription"
    assert (members["TemplateName"], members["BodyTemplate"]) == ("headline", template)
    assert (unregister.status_code, gone.status_code) == (200, 404)


async def test_ios_registers_native_and_template_and_unregisters(nh: NhCaller) -> None:
    ios = Device(nh, "2013-04", http_audience=True)
    xml = {"Content-Type": "application/xml"}
    template = '{"aps":{"alert":"$(message)"}}'
    async with httpx.AsyncClient() as http:
        listed_before = await ios.send(
            http, "GET", f"Registrations/?$filter=deviceToken+eq+'{APNS_TOKEN}'"
        )
        native_id = last_segment(
            (await ios.send(http, "POST", "registrationids/", **xml)).headers["Location"]
        )
        native = await ios.send(
            http, "PUT", f"Registrations/{native_id}",
            ios_entry(f"<Tags>a,b</Tags><DeviceToken>{APNS_TOKEN}</DeviceToken>",
                      "AppleRegistrationDescription"), **xml,
        )  # fmt: skip
        template_id = last_segment(
            (await ios.send(http, "POST", "registrationids/", **xml)).headers["Location"]
        )
        templated = await ios.send(
            http, "PUT", f"Registrations/{template_id}",
            ios_entry(
                f"<Tags>a</Tags><DeviceToken>{APNS_TOKEN}</DeviceToken>"
                f"<BodyTemplate><![CDATA[{template}]]></BodyTemplate><Expiry>$(expiry)</Expiry>"
                "<Priority>10</Priority><TemplateName>greeting</TemplateName>",
                "AppleTemplateRegistrationDescription",
            ),
            **xml,
        )  # fmt: skip
        listed = await ios.send(
            http, "GET", f"Registrations/?$filter=deviceToken+eq+'{APNS_TOKEN}'"
        )
        unregister = await ios.send(
            http, "DELETE", f"Registrations/{template_id}", **{"If-Match": "*"}
        )
    assert (listed_before.status_code, native.status_code, templated.status_code) == (200,) * 3
    kind, members = description(templated.content)
    assert kind == "AppleTemplateRegistrationDescription"
    assert (members["Expiry"], members["Priority"], members["TemplateName"]) == (
        "$(expiry)",
        "10",
        "greeting",
    )
    assert ANDROID_TIME.fullmatch(members["ExpirationTime"])  # NSDateFormatter's .SSS'Z'
    found = {m["RegistrationId"] for _, m in feed(listed.content)}
    assert found == {native_id, template_id}
    assert unregister.status_code == 200
    root = ET.fromstring(native.content)
    assert root.tag == "{http://www.w3.org/2005/Atom}entry"
