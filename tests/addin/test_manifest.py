"""Offline checks of the add-in manifest, since Microsoft's own validator is an online service.

Each render must be well-formed XML, and every ``resid`` must name a resource of the right kind.
Ids are unique, every URL is HTTPS under the base URL, and the elements Outlook needs are there.
The render must also be valid against the XSD files in ``schema/``.

Those schemas are written down from Microsoft's open specification of the manifest,
[MS-OWEMXML], and cover only the parts Mailgrip uses:

- the MailApp root with its localized settings, ItemRead form and activation rules;
- the VersionOverrides 1.0 wrapper;
- in VersionOverrides 1.1: the requirement sets, the MailHost runtime with its JavaScript
  override, the MessageReadCommandSurface button that shows a task pane, the LaunchEvent
  extension point with SendMode, resources with locale overrides and length limits, and
  WebApplicationInfo.

Other extension points, controls, forms and rules are not in the schemas, so a manifest that
uses them fails validation until the schemas grow.
"""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from mailgrip.addin.manifest import (
    DEV_BASE_URL,
    DEV_CLIENT_ID,
    ManifestError,
    ManifestOptions,
    render_manifest,
)
from mailgrip.cli import main
from mailgrip.config import setting_default

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).resolve().parent / "schema" / "OfficeAppManifestV1_1.xsd"
ASSETS = ROOT / "addin" / "assets"
NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
    "vo": "http://schemas.microsoft.com/office/mailappversionoverrides",
    "v11": "http://schemas.microsoft.com/office/mailappversionoverrides/1.1",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
XSI_TYPE = f"{{{NS['xsi']}}}type"
CLIENT_ID = "6e2f8a1c-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
BASE_URL = "https://mailgrip.example.org"

# Which resource list each kind of resid must name.
RESOURCE_KIND = {
    "Image": "bt:Images/bt:Image",
    "Label": "bt:ShortStrings/bt:String",
    "Title": "bt:ShortStrings/bt:String",
    "Description": "bt:LongStrings/bt:String",
    "SourceLocation": "bt:Urls/bt:Url",
    "Runtime": "bt:Urls/bt:Url",
    "Override": "bt:Urls/bt:Url",
}


def _render(base_url: str = BASE_URL, send_mode: str = "SoftBlock") -> etree._ElementTree:
    xml = render_manifest(
        ManifestOptions(
            base_url=base_url,
            client_id=CLIENT_ID,
            addin_id=setting_default("addin_id"),
            send_mode=send_mode,
        )
    )
    return etree.ElementTree(etree.fromstring(xml.encode()))


@pytest.fixture(scope="module")
def manifest() -> etree._ElementTree:
    return _render()


def _overrides(tree) -> etree._Element:
    return tree.find("vo:VersionOverrides/v11:VersionOverrides", NS)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_committed_manifest_is_dev_render():
    expected = render_manifest(
        ManifestOptions(
            base_url=DEV_BASE_URL, client_id=DEV_CLIENT_ID, addin_id=setting_default("addin_id")
        )
    )

    assert (ROOT / "manifest.xml").read_text(encoding="utf-8") == expected


@pytest.mark.parametrize("base_url", [BASE_URL, DEV_BASE_URL, "https://xn--mlgrp-bua.example/mg"])
def test_manifest_valid_against_schema(base_url):
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))

    tree = _render(base_url)

    assert schema.validate(tree), str(schema.error_log)


def test_schema_rejects_unknown_send_mode(manifest):
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    tree = etree.ElementTree(etree.fromstring(etree.tostring(manifest)))
    event = tree.find(".//v11:LaunchEvent[@Type='OnMessageSend']", NS)
    event.set("SendMode", "Sometimes")

    assert not schema.validate(tree)


def test_every_resid_resolves(manifest):
    resources = _overrides(manifest).find("v11:Resources", NS)
    references = manifest.findall(".//*[@resid]")

    assert references
    for element in references:
        kind = etree.QName(element).localname
        ids = {node.get("id") for node in resources.findall(RESOURCE_KIND[kind], NS)}
        assert element.get("resid") in ids, f"{kind} resid {element.get('resid')!r}"


def test_every_resource_is_used(manifest):
    used = {element.get("resid") for element in manifest.findall(".//*[@resid]")}
    defined = {element.get("id") for element in manifest.findall(".//v11:Resources/*/*", NS)}

    assert defined == used


def test_ids_unique(manifest):
    resource_ids = Counter(e.get("id") for e in manifest.findall(".//v11:Resources/*/*", NS))
    control_ids = Counter(
        e.get("id") for e in manifest.iter(f"{{{NS['v11']}}}Group", f"{{{NS['v11']}}}Control")
    )

    assert [rid for rid, count in resource_ids.items() if count > 1] == []
    assert [cid for cid, count in control_ids.items() if count > 1] == []


def test_every_url_https_under_base(manifest):
    urls = [
        element.get(attribute)
        for element in manifest.iter()
        for attribute in ("DefaultValue", "Value")
        if (element.get(attribute) or "").startswith(("http:", "https:"))
    ]

    assert len(urls) >= 10
    for url in urls:
        assert url.startswith(f"{BASE_URL}/"), url


def test_root_elements_present(manifest):
    root = manifest.getroot()

    assert root.get(XSI_TYPE) == "MailApp"
    assert root.findtext("o:Id", namespaces=NS) == setting_default("addin_id")
    assert root.findtext("o:Permissions", namespaces=NS) == "ReadWriteItem"
    assert root.find("o:Hosts/o:Host[@Name='Mailbox']", NS) is not None
    assert root.find("o:IconUrl", NS).get("DefaultValue") == f"{BASE_URL}/addin/assets/icon-64.png"
    high = root.find("o:HighResolutionIconUrl", NS).get("DefaultValue")
    assert high == f"{BASE_URL}/addin/assets/icon-128.png"
    assert _overrides(manifest).get(XSI_TYPE) == "VersionOverridesV1_1"


def test_requirement_covers_launch_events(manifest):
    sets = _overrides(manifest).find("v11:Requirements/bt:Sets", NS)

    # OnMessageAttachmentsChanged arrived in Mailbox 1.13, OnMessageSend in 1.12.
    assert sets.get("DefaultMinVersion") == "1.13"
    assert sets.find("bt:Set", NS).get("Name") == "Mailbox"


def test_read_button_opens_taskpane(manifest):
    surface = manifest.find(".//v11:ExtensionPoint[@xsi:type='MessageReadCommandSurface']", NS)
    button = surface.find(".//v11:Control[@xsi:type='Button']", NS)
    label_id = button.find("v11:Label", NS).get("resid")
    label = manifest.find(f".//bt:ShortStrings/bt:String[@id='{label_id}']", NS)
    action = button.find("v11:Action", NS)
    url_id = action.find("v11:SourceLocation", NS).get("resid")

    assert label.get("DefaultValue") == "Tracking & blocking"
    assert action.get(XSI_TYPE) == "ShowTaskpane"
    assert manifest.find(f".//bt:Url[@id='{url_id}']", NS).get("DefaultValue") == (
        f"{BASE_URL}/taskpane"
    )
    assert sorted(int(i.get("size")) for i in button.findall("v11:Icon/bt:Image", NS)) == [
        16,
        32,
        80,
    ]


@pytest.mark.parametrize("send_mode", ["PromptUser", "SoftBlock", "Block"])
def test_launch_events_and_runtime(send_mode):
    tree = _render(send_mode=send_mode)
    events = {
        event.get("Type"): event
        for event in tree.findall(
            ".//v11:ExtensionPoint[@xsi:type='LaunchEvent']//v11:LaunchEvent", NS
        )
    }
    runtime = tree.find(".//v11:Runtimes/v11:Runtime", NS)
    script = runtime.find("v11:Override[@type='javascript']", NS)

    assert set(events) == {"OnMessageSend", "OnMessageAttachmentsChanged"}
    assert events["OnMessageSend"].get("SendMode") == send_mode
    assert events["OnMessageSend"].get("FunctionName") == "onMessageSend"
    assert events["OnMessageAttachmentsChanged"].get("FunctionName") == (
        "onMessageAttachmentsChanged"
    )
    assert tree.find(f".//bt:Url[@id='{runtime.get('resid')}']", NS).get("DefaultValue") == (
        f"{BASE_URL}/addin/commands.html"
    )
    assert tree.find(f".//bt:Url[@id='{script.get('resid')}']", NS).get("DefaultValue") == (
        f"{BASE_URL}/addin/launchevent.js"
    )


def test_web_application_info(manifest):
    info = _overrides(manifest).find("v11:WebApplicationInfo", NS)

    assert info.findtext("v11:Id", namespaces=NS) == CLIENT_ID
    assert info.findtext("v11:Resource", namespaces=NS) == (
        f"api://mailgrip.example.org/{CLIENT_ID}"
    )
    assert [s.text for s in info.findall("v11:Scopes/v11:Scope", NS)] == [
        "openid",
        "profile",
        "User.Read",
    ]


def test_strings_have_dutch_override(manifest):
    strings = manifest.findall(".//bt:ShortStrings/bt:String", NS) + manifest.findall(
        ".//bt:LongStrings/bt:String", NS
    )
    root_settings = [manifest.find("o:DisplayName", NS), manifest.find("o:Description", NS)]

    assert strings
    for element in strings:
        overrides = element.findall("bt:Override", NS)
        assert [o.get("Locale") for o in overrides] == ["nl-NL"], element.get("id")
    for element in root_settings:
        assert [o.get("Locale") for o in element.findall("o:Override", NS)] == ["nl-NL"]
    button = manifest.find(".//bt:String[@id='TrackingButton.Label']/bt:Override", NS)
    assert button.get("Value") == "Volgen & blokkeren"


def test_icons_exist_in_their_sizes(manifest):
    images = manifest.findall(".//bt:Images/bt:Image", NS)
    urls = [element.get("DefaultValue") for element in images]
    urls += [
        manifest.find("o:IconUrl", NS).get("DefaultValue"),
        manifest.find("o:HighResolutionIconUrl", NS).get("DefaultValue"),
    ]

    for url in urls:
        name = url.rsplit("/", 1)[1]
        size = int(name.removeprefix("icon-").removesuffix(".png"))
        assert _png_size(ASSETS / name) == (size, size)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--base-url", "http://mailgrip.example.org", "--client-id", CLIENT_ID], "http://"),
        (["--base-url", "mailgrip.example.org", "--client-id", CLIENT_ID], "mailgrip.example.org"),
        (["--base-url", "https://", "--client-id", CLIENT_ID], "'https://'"),
        (["--base-url", "https://a.example?x=1", "--client-id", CLIENT_ID], "x=1"),
        (["--base-url", "https://a.example:99999", "--client-id", CLIENT_ID], "99999"),
        (["--base-url", "https://a.example:0", "--client-id", CLIENT_ID], "a.example:0"),
        (["--base-url", "https://a.example/my files", "--client-id", CLIENT_ID], "my files"),
        (["--base-url", "https://a.example/<x>", "--client-id", CLIENT_ID], "<x>"),
        (["--base-url", BASE_URL, "--client-id", "mailgrip"], "'mailgrip'"),
        (["--base-url", BASE_URL, "--client-id", CLIENT_ID.replace("-", "")], "6e2f8a1c3b4d"),
        (["--base-url", BASE_URL, "--client-id", CLIENT_ID, "--send-mode", "Maybe"], "'Maybe'"),
    ],
)
def test_cli_rejects_invalid_values(arguments, named):
    result = CliRunner().invoke(main, ["manifest", *arguments])

    assert result.exit_code == 2
    assert named in result.output
    assert "Traceback" not in result.output


def test_cli_writes_manifest(tmp_path):
    target = tmp_path / "manifest.xml"

    result = CliRunner().invoke(
        main,
        ["manifest", "--base-url", f"{BASE_URL}/", "--client-id", CLIENT_ID.upper(), "-o", target],
    )

    assert result.exit_code == 0, result.output
    tree = etree.parse(str(target))
    assert tree.find(".//v11:WebApplicationInfo/v11:Id", NS).text == CLIENT_ID
    assert tree.find("o:SupportUrl", NS).get("DefaultValue") == f"{BASE_URL}/"


def test_cli_send_mode_from_environment():
    result = CliRunner().invoke(
        main,
        ["manifest", "--base-url", BASE_URL, "--client-id", CLIENT_ID],
        env={"MAILGRIP_SEND_MODE": "Block"},
    )

    assert result.exit_code == 0, result.output
    assert 'SendMode="Block"' in result.output


def test_render_rejects_bad_addin_id():
    options = ManifestOptions(base_url=BASE_URL, client_id=CLIENT_ID, addin_id="not-a-guid")

    with pytest.raises(ManifestError, match="MAILGRIP_ADDIN_ID"):
        render_manifest(options)
