"""Registration descriptions: what each client sends, what NH answers, and every refusal."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from unit.registrations.strategies import registrations

from shared.errors import BadRequestError
from shared.model.channels import BrowserPushChannel, InstallationPlatform
from shared.model.registration import Registration, RegistrationTemplate, parse_registration
from shared.registrations.atom import NH_NS, entry_content, entry_xml
from shared.registrations.descriptions import description_xml, parse_description

MAX_TAGS = 60
TOKEN = "62bcd3484834b7e2dc56733ac5509259230cc1ba82ba1ae7d06e91908a05a8fa"
P256DH = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
AUTH = "tBHItJI5svbpez7KI4CCXg"
NS = f'xmlns="{NH_NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"'


def entry(description: str, content_type: str = "application/xml") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><entry xmlns="http://www.w3.org/2005/Atom">'
        f'<content type="{content_type}">{description}</content></entry>'
    ).encode()


def parse(description: str, registration_id: str = "1-2-3") -> Registration:
    body = entry(description)
    return parse_description(entry_content(body), registration_id=registration_id, max_tags=60)


def answer(registration: Registration, etag: str = "1") -> bytes:
    content = description_xml(registration, etag=etag)
    return entry_xml(
        entry_id="https://h/hub/registrations/x",
        title="x",
        updated="2026-01-01T00:00:00Z",
        etag=etag,
        self_link="https://h/hub/registrations/x",
        content=content,
    ).encode()


@settings(max_examples=300)
@given(registrations())
def test_every_description_reads_back_as_written(registration: Registration) -> None:
    read = parse_description(
        entry_content(answer(registration)),
        registration_id=registration.registration_id,
        max_tags=MAX_TAGS,
    )
    assert read == registration


@settings(max_examples=300)
@given(registrations())
def test_the_json_form_reads_back_as_written(registration: Registration) -> None:
    wire = json.loads(json.dumps(registration.to_wire()))
    assert parse_registration(wire, max_tags=MAX_TAGS) == registration


def test_the_docs_apple_template_with_spaces_in_tags() -> None:
    registration = parse(
        f"<AppleTemplateRegistrationDescription {NS}><Tags>myTag, myOtherTag</Tags>"
        f"<DeviceToken>{TOKEN}</DeviceToken>"
        '<BodyTemplate><![CDATA[{"aps":{"alert":"$(msg)"}}]]></BodyTemplate>'
        "<Expiry>$(expiry)</Expiry></AppleTemplateRegistrationDescription>"
    )
    assert registration.tags == ("myOtherTag", "myTag")
    assert registration.push_channel == TOKEN.upper()
    assert registration.template == RegistrationTemplate(
        body='{"aps":{"alert":"$(msg)"}}', expiry="$(expiry)"
    )


def test_dotnet_and_azure_sb_name_the_kind_in_i_type() -> None:
    """DataContractSerializer writes the base type with i:type and nil for unset members."""
    registration = parse(
        f'<RegistrationDescription {NS} i:type="GcmTemplateRegistrationDescription">'
        '<RegistrationId i:nil="true"/><Tags>a,b</Tags><PushVariables>{"v":"1"}</PushVariables>'
        "<GcmRegistrationId>tok-1</GcmRegistrationId>"
        '<BodyTemplate><![CDATA[{"data":{"m":"$(m)"}}]]></BodyTemplate>'
        "<TemplateName>t</TemplateName></RegistrationDescription>"
    )
    assert registration.platform is InstallationPlatform.GCM
    assert registration.push_channel == "tok-1"
    assert registration.push_variables == {"v": "1"}
    assert registration.template is not None
    assert registration.template.name == "t"


def test_ios_writes_priority_after_expiry_and_text_xml_content() -> None:
    """The iOS SDK's own order (Expiry, Priority, TemplateName) and ``type="text/xml"``."""
    body = entry(
        f"<AppleTemplateRegistrationDescription {NS}><Tags>a</Tags>"
        f"<DeviceToken>{TOKEN.upper()}</DeviceToken>"
        '<BodyTemplate><![CDATA[{"aps":{"alert":"$(m)"}}]]></BodyTemplate>'
        "<Expiry>$(e)</Expiry><Priority>10</Priority><TemplateName>greeting</TemplateName>"
        "</AppleTemplateRegistrationDescription>",
        content_type="text/xml",
    )
    registration = parse_description(entry_content(body), registration_id="r", max_tags=60)
    template = registration.template
    assert template is not None
    assert (template.priority, template.name, template.expiry) == ("10", "greeting", "$(e)")
    assert template.delivery_headers == {"apns-priority": "10"}


def test_answers_follow_the_dotnet_member_order() -> None:
    registration = Registration(
        registration_id="r1",
        platform=InstallationPlatform.APNS,
        push_channel=TOKEN.upper(),
        tags=("b", "a"),
        user_id="alice",
        push_variables={"v": "1"},
        template=RegistrationTemplate(
            body="{}", headers={"b": "2", "apns-id": "1"}, expiry="e", name="n", priority="5"
        ),
    )
    description = ET.fromstring(description_xml(registration, etag="7"))
    members = [child.tag.split("}")[1] for child in description]
    assert description.tag == f"{{{NH_NS}}}AppleTemplateRegistrationDescription"
    assert members == [
        "ETag", "ExpirationTime", "RegistrationId", "Tags", "PushVariables",
        "DeviceToken", "BodyTemplate", "Expiry", "TemplateName", "Priority", "ApnsHeaders",
    ]  # fmt: skip
    texts = {child.tag.split("}")[1]: child.text for child in description}
    assert texts["Tags"] == "$UserId:{alice},b,a"
    assert texts["ExpirationTime"] == "9999-12-31T23:59:59.999Z"
    headers = description.find(f"{{{NH_NS}}}ApnsHeaders")
    assert headers is not None
    assert [h.findtext(f"{{{NH_NS}}}Header") for h in headers] == ["apns-id", "b"]


def test_windows_keeps_its_secondary_tile_and_always_sends_wns_headers() -> None:
    registration = parse(
        f"<WindowsTemplateRegistrationDescription {NS}>"
        "<ChannelUri>https://db5.notify.windows.com/?token=x</ChannelUri>"
        "<SecondaryTileName>tile</SecondaryTileName>"
        "<BodyTemplate><![CDATA[<toast/>]]></BodyTemplate>"
        "<WnsHeaders><WnsHeader><Header>X-WNS-Type</Header><Value>wns/toast</Value></WnsHeader>"
        "</WnsHeaders></WindowsTemplateRegistrationDescription>"
    )
    assert registration.secondary_tile_name == "tile"
    xml = description_xml(registration, etag="1")
    assert "<SecondaryTileName>tile</SecondaryTileName><BodyTemplate>" in xml
    assert "<WnsHeaders><WnsHeader><Header>X-WNS-Type</Header>" in xml


def test_baidu_and_browser_handles_have_two_and_three_elements() -> None:
    baidu = parse(
        f"<BaiduTemplateRegistrationDescription {NS}><BaiduUserId>u-1</BaiduUserId>"
        "<BaiduChannelId>42</BaiduChannelId>"
        '<BodyTemplate><![CDATA[{"title":"t","description":"$(m)"}]]></BodyTemplate>'
        "<MessageType>1</MessageType></BaiduTemplateRegistrationDescription>"
    )
    assert baidu.push_channel == "u-1-42"
    assert baidu.template is not None
    assert baidu.template.message_type == 1
    assert baidu.template.delivery_headers == {"X-Baidu-Message-Type": "1"}
    browser = parse(
        f"<BrowserRegistrationDescription {NS}><Endpoint>https://fcm.googleapis.com/fcm/send/x"
        f"</Endpoint><P256DH>{P256DH}</P256DH><Auth>{AUTH}</Auth></BrowserRegistrationDescription>"
    )
    assert browser.push_channel == BrowserPushChannel(
        "https://fcm.googleapis.com/fcm/send/x", P256DH, AUTH
    )


def test_an_expiration_time_is_kept() -> None:
    registration = parse(
        f"<FcmV1RegistrationDescription {NS}><ExpirationTime>2030-01-02T03:04:05.678Z"
        "</ExpirationTime><FcmV1RegistrationId>t</FcmV1RegistrationId>"
        "</FcmV1RegistrationDescription>"
    )
    assert registration.expiration_time == datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert "<ExpirationTime>2030-01-02T03:04:05.678Z</ExpirationTime>" in description_xml(
        registration, etag="1"
    )


@pytest.mark.parametrize(
    ("description", "says"),
    [
        (f"<MpnsRegistrationDescription {NS}><ChannelUri>https://x/</ChannelUri>"
         "</MpnsRegistrationDescription>", "MPNS (Windows Phone) was retired"),
        (f"<NokiaRegistrationDescription {NS}/>", "not a registration kind NH knows"),
        (f"<Registration {NS}/>", "is not a registration description"),
        (f"<RegistrationDescription {NS}/>", "must name its kind in i:type"),
        (f"<AppleRegistrationDescription {NS}><Tags>a</Tags></AppleRegistrationDescription>",
         "DeviceToken is required"),
        (f"<AppleRegistrationDescription {NS}><DeviceToken>not hex</DeviceToken>"
         "</AppleRegistrationDescription>", "is not an APNs device token"),
        (f"<WindowsRegistrationDescription {NS}><ChannelUri>ftp://x/</ChannelUri>"
         "</WindowsRegistrationDescription>", "not a valid channel URL"),
        (f"<GcmTemplateRegistrationDescription {NS}><GcmRegistrationId>t</GcmRegistrationId>"
         "</GcmTemplateRegistrationDescription>", "BodyTemplate is required"),
        (f"<GcmTemplateRegistrationDescription {NS}><GcmRegistrationId>t</GcmRegistrationId>"
         "<BodyTemplate>not json</BodyTemplate></GcmTemplateRegistrationDescription>",
         "is not valid JSON"),
        (f"<WindowsTemplateRegistrationDescription {NS}><ChannelUri>https://x/</ChannelUri>"
         "<BodyTemplate>&lt;toast/&gt;</BodyTemplate></WindowsTemplateRegistrationDescription>",
         "must include an X-WNS-Type header"),
        (f"<GcmRegistrationDescription {NS}><Tags>a</Tags><Tags>b</Tags>"
         "<GcmRegistrationId>t</GcmRegistrationId></GcmRegistrationDescription>",
         "Tags appears more than once"),
        (f"<GcmRegistrationDescription {NS}><Tags>$InstallationId:{{x}}</Tags>"
         "<GcmRegistrationId>t</GcmRegistrationId></GcmRegistrationDescription>",
         "An invalid tag(s)"),
        (f"<GcmRegistrationDescription {NS}><Tags>$UserId:{{a}},$UserId:{{b}}</Tags>"
         "<GcmRegistrationId>t</GcmRegistrationId></GcmRegistrationDescription>",
         "only one $UserId tag"),
        (f"<GcmRegistrationDescription {NS}><PushVariables>[1]</PushVariables>"
         "<GcmRegistrationId>t</GcmRegistrationId></GcmRegistrationDescription>",
         "pushVariables must be an object"),
        (f"<GcmRegistrationDescription {NS}><GcmRegistrationId><x/></GcmRegistrationId>"
         "</GcmRegistrationDescription>", "must hold text, not elements"),
        (f"<BaiduRegistrationDescription {NS}><BaiduUserId>u</BaiduUserId>"
         "<BaiduChannelId>1-2</BaiduChannelId></BaiduRegistrationDescription>",
         "BaiduChannelId may not hold '-'"),
        (f"<AdmTemplateRegistrationDescription {NS}><AdmRegistrationId>a</AdmRegistrationId>"
         "<BodyTemplate>{}</BodyTemplate><MessageType>1</MessageType>"
         "</AdmTemplateRegistrationDescription>", None),
    ],
)  # fmt: skip
def test_bad_descriptions_are_a_400_that_says_why(description: str, says: str | None) -> None:
    if says is None:  # an element of another kind is ignored, as DataContractSerializer does
        parse(description)
        return
    with pytest.raises(BadRequestError) as raised:
        parse(description)
    assert says in raised.value.detail
    assert raised.value.detail.startswith("Registration validation failed") or "NH" in says


def test_too_many_tags_is_a_400() -> None:
    tags = ",".join(f"t{n}" for n in range(61))
    with pytest.raises(BadRequestError, match="61 tags"):
        parse(
            f"<FcmV1RegistrationDescription {NS}><Tags>{tags}</Tags>"
            "<FcmV1RegistrationId>t</FcmV1RegistrationId></FcmV1RegistrationDescription>"
        )
