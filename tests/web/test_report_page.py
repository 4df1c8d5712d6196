"""The public report page in a real browser on a phone-sized screen, offline: a citizen places
the point on the map, answers the questions, attaches a photo, sends, and follows the report
while the responsible unit handles it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from tests.core.reports.photos import GPS_TEXT, jpeg_with_exif_gps
from tests.web.conftest import guarded_page, serve
from tocsin.adapters.contact_cipher import new_key
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.reports import HandlingAction
from tocsin.core.users import Role, User, UserName
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import write_small_config

pytestmark = pytest.mark.browser
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
EMAIL = "citizen@example.test"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Container]]:
    container = build(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'tocsin.db'}",
            config_dir=write_small_config(tmp_path / "config"),
            open311_web_key="web-page-key-0123456789",
            report_contact_key=new_key(),
        ),
        clock=FakeClock(),
    )
    with serve(container) as url:
        yield url, container
    container.close()


def test_a_citizen_reports_on_a_phone_and_follows_the_answer(
    site: tuple[str, Container], browser: Any, shots: Any
) -> None:
    url, container = site
    with guarded_page(browser, **PHONE) as (page, _):
        page.goto(url + "/report")
        page.select_option("#service", "gas_smell")
        expect(page.locator("#attr-strength")).to_be_visible()
        page.select_option("#attr-strength", "strong")
        expect(page.locator("path.region-outline").first).to_be_attached()
        page.locator("#map").tap()  # the middle of the regions: District D12
        expect(page.locator("#lat")).not_to_have_value("")
        page.fill("#description", "Strong smell of gas near the school gate")
        page.set_input_files(
            "#media", {"name": "gas.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_exif_gps()}
        )
        page.fill("#email", EMAIL)
        shots(page, "report-form")
        page.click("#submit")
        number = page.locator("#tracking-number")
        expect(number).to_have_text(
            re.compile(r"^[0-9a-f]{16}$")
        )  # a tracking number, shown at once
        rid = number.inner_text()

        with container.store.transaction() as tx:
            stored = tx.reports.get(rid)
            photo = tx.reports.photo(rid)
        assert stored is not None
        assert stored.region == "D12"
        assert stored.has_contact
        assert photo is not None
        assert GPS_TEXT not in photo.data

        handler = User(UserName("p1"), Role.UNIT_MEMBER, stored.unit)
        container.reports.act(rid, HandlingAction.ACKNOWLEDGE, user=handler)
        container.reports.act(rid, HandlingAction.CLOSE, user=handler, note="Leak sealed.")
        page.click(f"a[href='#track={rid}']")
        expect(page.locator("#track-status")).to_have_text("closed")
        expect(page.locator("#track-updates li")).to_have_count(3)
        expect(page.locator("#track-updates")).to_contain_text("Leak sealed.")
        assert EMAIL not in page.content()
        shots(page, "report-tracking")


def test_a_bad_report_is_refused_on_the_page_with_the_reason(
    site: tuple[str, Container], browser: Any
) -> None:
    url, _ = site
    with guarded_page(browser, **PHONE) as (page, _):
        page.goto(url + "/report")
        page.select_option("#service", "landslide")
        page.fill("#lat", "5.0")
        page.fill("#long", "10.5")
        page.click("#submit")
        expect(page.locator("#send-result")).to_contain_text("outside every region")
        page.fill("#lat", "45.5123")
        page.fill("#long", "10.5123")
        page.fill("#phone", "call me")
        page.click("#submit")
        expect(page.locator("#send-result")).to_contain_text("phone: not a phone number")
        page.goto(url + "/report#track=doesnotexist")
        expect(page.locator("#track-result")).to_contain_text("no report")


def test_a_typed_position_with_a_decimal_comma_is_read_as_degrees_and_nothing_else_is(
    site: tuple[str, Container], browser: Any
) -> None:
    # parseFloat read "45,5123" (a phone with an Italian keyboard) as 45 and "45.5x" as 45.5,
    # and the page rewrote the fields with that: the report went some 80 km away, unsaid
    url, container = site
    with guarded_page(browser, **PHONE) as (page, _):
        page.goto(url + "/report")
        page.select_option("#service", "landslide")
        page.fill("#lat", "45,5123")
        page.fill("#long", " 10,5123")
        page.locator("#long").dispatch_event("change")
        expect(page.locator("#lat")).to_have_value("45.512300")
        expect(page.locator("#long")).to_have_value("10.512300")
        page.click("#submit")
        number = page.locator("#tracking-number")
        expect(number).to_have_text(re.compile(r"^[0-9a-f]{16}$"))
        with container.store.transaction() as tx:
            stored = tx.reports.get(number.inner_text())
        assert stored is not None
        assert (stored.point.lat, stored.point.lon) == (45.5123, 10.5123)
        page.fill("#description", "another one")
        page.fill("#lat", "45.5x")
        page.locator("#lat").dispatch_event("change")
        expect(page.locator("#lat")).to_have_value("45.5x")  # left as typed, for the server
        page.click("#submit")
        expect(page.locator("#send-result")).to_contain_text("lat: not a number")


SPILL = {
    "report_types": [
        {
            "code": "chemical_spill",
            "name": "Chemical spill",
            "domain": "production.chemicals",
            "attributes": [
                {
                    "code": "colours",
                    "datatype": "multivaluelist",
                    "description": "What colours?",
                    "required": True,
                    "values": [{"key": "red", "name": "Red"}, {"key": "blue", "name": "Blue"}],
                },
                {"code": "seen_at", "datatype": "datetime", "description": "Seen when?"},
            ],
        }
    ]
}


def test_a_citizen_answers_a_list_and_a_moment_with_the_phone_s_own_controls(
    tmp_path: Path, browser: Any
) -> None:
    # a datetime question was a text box that refused all but "2026-12-02T09:00:00+01:00";
    # it is the device's date and time picker now, sent with its offset
    container = build(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'tocsin.db'}",
            config_dir=write_small_config(tmp_path / "config", **{"reports.yaml": SPILL}),
            open311_web_key="web-page-key-0123456789",
        ),
        clock=FakeClock(),
    )
    with (
        serve(container) as url,
        guarded_page(browser, timezone_id="Europe/Rome", **PHONE) as (page, _),
    ):
        page.goto(url + "/report")
        page.select_option("#service", "chemical_spill")
        expect(page.locator("#attr-seen_at")).to_have_attribute("type", "datetime-local")
        page.check("input[name='attribute[colours][]'][value='red']")
        page.check("input[name='attribute[colours][]'][value='blue']")
        page.fill("#attr-seen_at", "2026-03-01T09:30")
        page.fill("#lat", "45.5123")
        page.fill("#long", "10.5123")
        page.click("#submit")
        number = page.locator("#tracking-number")
        expect(number).to_have_text(re.compile(r"^[0-9a-f]{16}$"))
        with container.store.transaction() as tx:
            stored = tx.reports.get(number.inner_text())
    container.close()
    assert stored is not None
    assert stored.attributes == {"colours": ["red", "blue"], "seen_at": "2026-03-01T08:30:00.000Z"}


def test_a_reporter_stops_updates_from_the_link_of_an_update(
    site: tuple[str, Container], browser: Any
) -> None:
    url, container = site
    form = {
        "api_key": "web-page-key-0123456789",
        "service_code": "gas_smell",
        "lat": "45.5123",
        "long": "10.5123",
        "attribute[strength]": "strong",
        "phone": "0039 055 123-4567",
    }
    answer = httpx.post(url + "/open311/v2/requests.json", data=form, timeout=30)
    assert answer.is_success, answer.text
    rid = answer.json()[0]["service_request_id"]
    mail = container.reporter_mail
    assert mail is not None
    link = urlsplit(mail.links(rid).unsubscribe)  # as an update carries it
    with container.store.transaction() as tx:
        kept = tx.reports.contact(rid)
    assert kept is not None
    assert mail.cipher.open(kept.sealed, report_id=rid) == "+390551234567"  # as a gateway dials
    with guarded_page(browser, **PHONE) as (page, _):
        page.goto(f"{url}{link.path}?{link.query}")
        expect(page.locator("h1")).to_have_text(f"Stop updates on report {rid}")
        with container.store.transaction() as tx:
            assert tx.reports.contact(rid) is not None  # opening the link changes nothing
        page.get_by_role("button", name="Stop updates").tap()
        expect(page.locator("h1")).to_have_text("Updates stopped")
        with container.store.transaction() as tx:
            assert tx.reports.contact(rid) is None
        assert "4567" not in page.content()
        page.get_by_role("link", name="the report page").tap()
        page.goto(f"{url}/report#track={rid}")
        expect(page.locator("#track-status")).to_have_text("received")
