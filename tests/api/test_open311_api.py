"""Open311 GeoReport v2 over HTTP: every answer validated against the GeoReport v2 schemas (JSON)
or read back with defusedxml (XML); the handling unit's view; errors in the spec's form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, serve_api, table_counts
from tests.api.open311_schemas import check, xml, xml_records
from tests.core.reports.photos import GPS_TEXT, jpeg_with_exif_gps
from tocsin.adapters.contact_cipher import new_key
from tocsin.core.access import system_principal
from tocsin.core.incidents.model import LinkKind
from tocsin.core.users import Role
from tocsin.services.access import TokenRequest

KEY = "app-key-0123456789abcdef"
BASE = "/open311/v2"
EMAIL = "reporter.person@example.test"
HOUR = timedelta(hours=1)
GAS = {"api_key": KEY, "service_code": "gas_smell", "lat": "45.5123", "long": "10.5123"}


@pytest.fixture
def api(sqlite_url: str, tmp_path: Path) -> Iterator[Api]:
    with serve_api(
        sqlite_url,
        tmp_path,
        open311_api_keys=f"city-app:{KEY}",
        report_contact_key=new_key(),
        report_rate_per_range_per_10_minutes=1_000,
    ) as served:
        yield served


def post(api: Api, fmt: str = "json", **fields: Any) -> Any:
    form = {**GAS, "attribute[strength]": "strong", **fields}
    return api.client.post(f"{BASE}/requests.{fmt}", data=form)


def unit_member(api: Api, name: str, unit: str) -> dict[str, str]:
    api.container.admin.add_user(name, Role.UNIT_MEMBER, unit=unit, actor="test")
    token = api.container.access.issue(name, TokenRequest("test"), actor="test")[1]
    return {"Authorization": f"Bearer {token}"}


def test_services_and_definitions_validate_in_json_and_xml(api: Api) -> None:
    listed = api.client.get(f"{BASE}/services.json")
    assert listed.headers["content-type"] == "application/json; charset=utf-8"
    check("services.json", listed.json())
    codes = [s["service_code"] for s in listed.json()]
    assert "gas_smell" in codes
    assert "dyke_damage" in codes
    as_xml = xml_records(api.client.get(f"{BASE}/services.xml").content, "service")
    assert [s["service_code"] for s in as_xml] == codes
    for code in codes:
        definition = api.client.get(f"{BASE}/services/{code}.json")
        check("service-definition.json", definition.json())
    doc = xml(api.client.get(f"{BASE}/services/gas_smell.xml").content)
    keys = [v.findtext("key") for v in doc.iter("value")]
    assert doc.tag == "service_definition"
    assert keys[:3] == ["faint", "strong", "overwhelming"]
    found = api.client.get(f"{BASE}/discovery.json").json()
    assert found["endpoints"][0]["formats"] == ["text/xml", "application/json"]


def test_a_posted_report_is_routed_and_shown_coarsened_without_personal_fields(api: Api) -> None:
    posted = post(
        api,
        email=EMAIL,
        first_name="Ada",
        description="strong smell by the school",
        address_string="Via della Scuola 12",  # as exact as the point: the public never sees it
    )
    assert posted.status_code == 200
    check("swagger.json#RequestResponse", posted.json())
    rid = posted.json()[0]["service_request_id"]
    one = api.client.get(f"{BASE}/requests/{rid}.json")
    check("requests.json", one.json())
    shown = one.json()[0]
    assert shown["status"] == "open"
    assert shown["agency_responsible"] == "P1 civil protection"
    assert (shown["lat"], shown["long"]) != (45.5123, 10.5123)  # coarsened to 100 m
    assert abs(shown["lat"] - 45.5123) < 0.001
    assert abs(shown["long"] - 10.5123) < 0.002
    listed = api.client.get(f"{BASE}/requests.json", params={"status": "open"})
    check("requests.json", listed.json())
    as_xml = api.client.get(f"{BASE}/requests.xml").content
    token = api.client.get(f"{BASE}/tokens/{rid}.json").json()
    check("swagger.json#TokenResponse", token)
    assert shown["address"] is None
    for text in (posted.text, one.text, listed.text, as_xml.decode(), str(token)):
        assert EMAIL not in text
        assert "Ada" not in text
        assert "45.5123" not in text
        assert "Scuola" not in text
    assert xml_records(as_xml, "request")[0]["service_request_id"] == rid


def test_get_requests_filters_by_status_service_and_id(api: Api) -> None:
    gas = post(api).json()[0]["service_request_id"]
    slide = post(api, service_code="landslide", **{"attribute[strength]": ""}).json()[0][
        "service_request_id"
    ]
    assert gas != slide

    def ids(**params: str) -> list[str]:
        answer = api.client.get(f"{BASE}/requests.json", params=params)
        check("requests.json", answer.json())
        return [r["service_request_id"] for r in answer.json()]

    assert ids(service_code="landslide") == [slide]
    assert sorted(ids(service_request_id=f"{gas},{slide}", status="closed")) == sorted([gas, slide])
    assert ids(status="closed") == []
    assert ids(start_date="2025-01-01T00:00:00Z", end_date="2025-02-01T00:00:00Z") == []


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"api_key": "wrong"}, 403, "api_key"),
        ({"api_key": ""}, 403, "api_key"),
        ({"service_code": "nope"}, 404, "no service 'nope'"),
        ({"lat": "5.0"}, 400, "outside every region"),
        ({"lat": ""}, 400, "lat: required"),
        ({"long": "east"}, 400, "long: not a number"),
        ({"attribute[strength]": "mild"}, 400, "not one of"),
        ({"nickname": "x"}, 400, "nickname: no such field"),
        ({"description": "x" * 4_001}, 400, "longer than 4000"),
        ({"jurisdiction_id": "elsewhere.org"}, 404, "jurisdiction"),
    ],
)
def test_bad_posts_are_refused_in_the_spec_form_and_store_nothing(
    api: Api, fields: dict[str, str], status: int, says: str
) -> None:
    before = table_counts(api.container)
    for fmt in ("json", "xml"):
        answer = post(api, fmt, **fields)
        assert answer.status_code == status
        if fmt == "json":
            body = answer.json()
            assert body[0]["code"] == status
            assert says in " ".join(e["description"] for e in body)
        else:
            doc = xml(answer.content)
            assert doc.tag == "errors"
            assert doc.find("error/code").text == str(status)
    assert table_counts(api.container) == before


def test_unknown_things_are_404_in_the_spec_form(api: Api) -> None:
    for path in ("requests/nope.json", "tokens/nope.xml", "services/nope.json", "services.txt"):
        answer = api.client.get(f"{BASE}/{path}")
        assert answer.status_code == 404, path
    assert (
        api.client.get(f"{BASE}/services.json", params={"jurisdiction_id": "x"}).status_code == 404
    )
    ok = api.client.get(f"{BASE}/services.json", params={"jurisdiction_id": "tocsin.local"})
    assert ok.status_code == 200
    bad = api.client.get(f"{BASE}/requests.json", params={"start_date": "yesterday"})
    assert bad.status_code == 400
    assert "start_date" in bad.json()[0]["description"]


def test_a_date_whose_plus_sign_was_not_escaped_is_read_with_its_offset(api: Api) -> None:
    # "+" in a query string is a space: a client that writes the offset unescaped (as the
    # spec's examples are written) sent "…T00:00:00 01:00", which was refused
    rid = post(api).json()[0]["service_request_id"]
    now = api.container.clock.now().astimezone(timezone(timedelta(hours=1)))
    start, end = (f"{(now + d).isoformat(timespec='seconds')}" for d in (-HOUR, HOUR))
    assert start.endswith("+01:00")
    answer = api.client.get(f"{BASE}/requests.json?start_date={start}&end_date={end}")
    assert answer.status_code == 200, answer.text
    assert [r["service_request_id"] for r in answer.json()] == [rid]
    later = (now + HOUR).isoformat(timespec="seconds")
    none = api.client.get(f"{BASE}/requests.json?start_date={later}")
    assert none.status_code == 200
    assert none.json() == []
    spaced = api.client.get(f"{BASE}/requests.json", params={"start_date": "2026-12-01 T00:00Z"})
    assert spaced.status_code == 400


def test_paths_and_methods_that_are_no_method_answer_in_the_spec_form(api: Api) -> None:
    # the framework's own 404 and 405 were Problem bodies ({"detail": …}): no Open311 client
    # reads those; `request/{id}` (singular) is what the validator's swagger.json names
    for path in ("request/abc.json", "foo.json", "requests/x.json/more", ""):
        answer = api.client.get(f"{BASE}/{path}")
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        [error] = answer.json()
        assert error["code"] == 404
        assert error["description"].startswith(f"no such resource '{BASE}/{path}'")
    as_xml = api.client.get(f"{BASE}/request/abc.xml")
    assert as_xml.status_code == 404
    assert [e.findtext("code") for e in xml(as_xml.content)] == ["404"]
    for path, fmt in (("services.xml", "xml"), ("media/abc", "json")):
        answer = api.client.post(f"{BASE}/{path}", data={"api_key": KEY})
        assert answer.status_code == 405, path
        assert answer.headers["allow"] == "GET"
        description = (
            xml(answer.content)[0].findtext("description")
            if fmt == "xml"
            else answer.json()[0]["description"]
        )
        assert description == f"POST is not allowed on '{BASE}/{path}' (allowed: GET)"
    elsewhere = api.client.get("/api/v1/no-such-thing", headers=api.headers)
    assert elsewhere.status_code == 404
    assert set(elsewhere.json()) == {"detail", "problems"}  # a Problem outside Open311


def test_the_same_submission_twice_is_one_report(api: Api) -> None:
    first = post(api, description="Gas  smell").json()[0]["service_request_id"]
    again = post(api, description="gas smell").json()[0]["service_request_id"]
    other = post(api, description="another smell").json()[0]["service_request_id"]
    assert first == again != other
    assert len(api.client.get(f"{BASE}/requests.json").json()) == 2


def test_a_photo_loses_its_gps_and_is_served_back(api: Api) -> None:
    files = {"media": ("p.jpg", jpeg_with_exif_gps(), "image/jpeg")}
    answer = api.client.post(
        f"{BASE}/requests.json", data={**GAS, "attribute[strength]": "faint"}, files=files
    )
    rid = answer.json()[0]["service_request_id"]
    one = api.client.get(f"{BASE}/requests/{rid}.json").json()
    check("requests.json", one)  # media_url's format is `uri`: absolute (it was a path)
    shown = one[0]
    assert shown["media_url"] == f"http://testserver{BASE}/media/{rid}"
    listed = api.client.get(f"{BASE}/requests.xml").content
    assert xml_records(listed, "request")[0]["media_url"] == shown["media_url"]
    photo = api.client.get(shown["media_url"])
    assert photo.headers["content-type"] == "image/jpeg"
    assert GPS_TEXT not in photo.content
    assert b"Exif" not in photo.content
    bad = {"media": ("p.gif", b"GIF89a" + b"\x00" * 20, "image/gif")}
    refused = api.client.post(
        f"{BASE}/requests.json", data={**GAS, "attribute[strength]": "faint"}, files=bad
    )
    assert refused.status_code == 400
    assert "not a JPEG or PNG" in refused.text


def test_only_the_handling_unit_sees_the_exact_point_and_contact_and_acts(api: Api) -> None:
    rid = post(api, email=EMAIL, address_string="Via Roma 1").json()[0]["service_request_id"]
    handler = unit_member(api, "p1", "P1-CP")
    outsider = unit_member(api, "p2", "P2-CP")
    seen = api.client.get(f"/api/v1/reports/{rid}", headers=handler)
    assert seen.status_code == 200
    assert seen.json()["contact"] == EMAIL
    assert seen.json()["address"] == "Via Roma 1"
    assert seen.json()["lat"] == 45.5123
    assert api.client.get(f"/api/v1/reports/{rid}", headers=outsider).status_code == 403
    assert api.client.get(f"/api/v1/reports/{rid}", headers=api.headers).status_code == 403
    listed = api.client.get("/api/v1/reports", headers=outsider).json()
    assert listed == []
    steps = [("acknowledge", ""), ("close", "The gas main was repaired.")]
    for action, note in steps:
        done = api.client.post(
            f"/api/v1/reports/{rid}/actions", headers=handler, json={"action": action, "note": note}
        )
        assert done.status_code == 200, done.text
    again = api.client.post(
        f"/api/v1/reports/{rid}/actions", headers=handler, json={"action": "verify"}
    )
    assert again.status_code == 409
    public = api.client.get(f"{BASE}/requests/{rid}.json").json()[0]
    assert public["status"] == "closed"
    assert public["status_notes"] == "The gas main was repaired."
    trail = api.client.get(f"/api/v1/reports/{rid}", headers=handler).json()["updates"]
    assert [u["status"] for u in trail] == ["received", "acknowledged", "closed"]
    with api.container.store.transaction() as tx:
        kinds = [r.kind for r in tx.audit.trail("report", rid)]
    assert kinds.count("report.contact_viewed") == 2
    assert "report.acknowledge" in kinds
    assert "report.close" in kinds


def test_a_photo_s_url_is_on_the_public_address_when_one_is_set(
    sqlite_url: str, tmp_path: Path
) -> None:
    with serve_api(
        sqlite_url,
        tmp_path,
        open311_api_keys=f"city-app:{KEY}",
        report_public_url="https://reports.example.org/",
    ) as api:
        files = {"media": ("p.jpg", jpeg_with_exif_gps(), "image/jpeg")}
        rid = api.client.post(
            f"{BASE}/requests.json", data={**GAS, "attribute[strength]": "faint"}, files=files
        ).json()[0]["service_request_id"]
        listed = api.client.get(f"{BASE}/requests.json").json()
        check("requests.json", listed)
        assert listed[0]["media_url"] == f"https://reports.example.org{BASE}/media/{rid}"


def test_a_sender_over_its_rate_is_told_when_to_come_back(sqlite_url: str, tmp_path: Path) -> None:
    with serve_api(
        sqlite_url,
        tmp_path,
        open311_api_keys=f"city-app:{KEY}",
        report_rate_per_range_per_10_minutes=2,
    ) as api:
        codes = [post(api, description=f"smell {i}").status_code for i in range(3)]
        refused = post(api, "xml", description="smell 4")
    assert codes == [200, 200, 429]
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert xml(refused.content).find("error/code").text == "429"


def test_a_cluster_attached_to_an_open_incident_links_its_reports_and_later_ones(
    api: Api,
) -> None:
    first = [
        post(api, lat=f"{45.5123 + i * 0.0004:.4f}", description=f"gas {i}").json()[0]
        for i in range(2)
    ]
    ids = [r["service_request_id"] for r in first]
    handler = unit_member(api, "p1", "P1-CP")
    cluster = api.client.get(f"/api/v1/reports/{ids[0]}", headers=handler).json()["cluster"]
    incidents = api.container.response.incidents
    system = system_principal("test")
    incident = incidents.open(
        principal=system, title="Gas leak", region="D11", domain="supply.energy", reason="test"
    )
    url = f"/api/v1/reports/clusters/{cluster}/incident"
    body = {"incident": incident.id, "note": "Crews are on site."}
    outsider = unit_member(api, "p2", "P2-CP")
    assert api.client.post(url, headers=outsider, json=body).status_code == 403  # none of its
    assert (
        api.client.post(url.replace(cluster, "nocluster"), headers=handler, json=body).status_code
        == 404
    )
    assert api.client.post(url, headers=handler, json={"incident": "nope"}).status_code == 404
    elsewhere = incidents.open(
        principal=system, title="Gas in P2", region="D21", domain="supply.energy", reason="test"
    )
    away = {"incident": elsewhere.id, "note": "x"}
    assert api.client.post(url, headers=handler, json=away).status_code == 403  # not its scope
    one = f"/api/v1/reports/{ids[0]}/actions"
    link = {"action": "link_incident", "target": elsewhere.id}
    assert api.client.post(one, headers=handler, json=link).status_code == 403
    attached = api.client.post(url, headers=handler, json=body)
    assert attached.status_code == 200, attached.text
    assert sorted(r["id"] for r in attached.json()) == sorted(ids)
    assert {r["incident"] for r in attached.json()} == {incident.id}
    later = post(api, lat="45.5131", description="gas again").json()[0]["service_request_id"]
    seen = api.client.get(f"/api/v1/reports/{later}", headers=handler).json()
    assert (seen["cluster"], seen["status"], seen["incident"]) == (cluster, "linked", incident.id)
    public = api.client.get(f"{BASE}/requests/{ids[0]}.json").json()[0]
    assert public["status_notes"] == "Crews are on site."
    linked = incidents.get(incident.id, principal=system).linked(LinkKind.REPORT)
    assert sorted(linked) == sorted([*ids, later])
    incidents.close(incident.id, principal=system, reason="over")
    closed = api.client.post(url, headers=handler, json=body)
    assert closed.status_code == 409


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body of text fields only (what the route, not the gate, reads)."""
    boundary = "tocsin-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    body = "".join(parts) + f"--{boundary}--\r\n"
    return body.encode(), f"multipart/form-data; boundary={boundary}"


FORMS = [
    ({"description": "gate and route alike"}, 200),
    ({"service_code": ""}, 400),
    ({"lat": "91"}, 400),
    ({"colour": "red"}, 400),
    ({"api_key": "wrong"}, 403),
    ({"service_code": "no_such_service"}, 404),
    ({"jurisdiction_id": "elsewhere"}, 404),
]


@pytest.mark.parametrize(("fields", "status"), FORMS)
def test_a_form_encoded_post_is_answered_as_a_multipart_one(
    api: Api, fields: dict[str, str], status: int
) -> None:
    # form-encoded posts are served by the report gate on the event loop, multipart ones by
    # the route on a worker thread: the same answers, in both formats
    for fmt in ("json", "xml"):
        form = {**GAS, "attribute[strength]": "strong", **fields}
        gate = api.client.post(f"{BASE}/requests.{fmt}", data=form)
        body, media = multipart({**form, "description": f"{form.get('description', '')} (m)"})
        route = api.client.post(
            f"{BASE}/requests.{fmt}", content=body, headers={"Content-Type": media}
        )
        assert gate.status_code == route.status_code == status, (fields, fmt)
        assert gate.headers["content-type"] == route.headers["content-type"]
        if fmt == "json" and status == 200:
            check("swagger.json#RequestResponse", gate.json())
            assert gate.json()[0]["service_request_id"] != route.json()[0]["service_request_id"]
        elif fmt == "json":
            assert gate.json() == route.json()
        else:
            assert xml(gate.content).tag == xml(route.content).tag


def test_a_form_of_too_many_fields_is_refused_by_the_gate_and_nothing_is_stored(api: Api) -> None:
    before = table_counts(api.container)
    form = "&".join([*(f"{k}={v}" for k, v in GAS.items()), *(f"x{i}=1" for i in range(120))])
    answer = api.client.post(
        f"{BASE}/requests.json",
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 400
    assert "at most 100 fields" in answer.json()[0]["description"]
    assert table_counts(api.container) == before


def test_an_unexpected_failure_of_the_gate_is_a_500_without_a_traceback(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(api.container.reports, "begin", broken)
    answer = post(api, description="meets a broken server")
    assert answer.status_code == 500
    assert "disk on fire" not in answer.text
    assert "Traceback" not in answer.text
    assert "internal error" in answer.json()["detail"]
    assert "disk on fire" in caplog.text  # the server's log has it


def test_text_is_read_as_utf8_by_the_gate_and_the_route_and_other_bytes_are_refused(
    api: Api,
) -> None:
    # raw UTF-8 in a form-encoded body (curl -d) was read as Latin-1 ("cittÃ "), and bytes
    # that are not UTF-8 were stored as U+FFFD or Latin-1 instead of being refused
    form = "&".join(f"{k}={v}" for k, v in {**GAS, "attribute[strength]": "strong"}.items())
    gate = api.client.post(
        f"{BASE}/requests.json",
        content=f"{form}&description=odore a Città".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    body, media = multipart({**GAS, "attribute[strength]": "strong", "description": "Perché?"})
    route = api.client.post(f"{BASE}/requests.json", content=body, headers={"Content-Type": media})
    for posted, text in ((gate, "odore a Città"), (route, "Perché?")):
        assert posted.status_code == 200, posted.text
        rid = posted.json()[0]["service_request_id"]
        assert api.client.get(f"{BASE}/requests/{rid}.json").json()[0]["description"] == text
    before = table_counts(api.container)
    refused = [
        ("application/x-www-form-urlencoded", f"{form}&description=Citt\xe0".encode("latin-1")),
        ("application/x-www-form-urlencoded", f"{form}&description=Citt%E0".encode()),
        (media, body.replace("Perché".encode(), "Perché".encode("latin-1"))),
    ]
    for content_type, content in refused:
        answer = api.client.post(
            f"{BASE}/requests.xml", content=content, headers={"Content-Type": content_type}
        )
        assert answer.status_code == 400, answer.text
        root = xml(answer.content)
        assert root.tag == "errors"
        assert [e.findtext("code") for e in root] == ["400"]
        assert "description: not UTF-8" in (root[0].findtext("description") or "")
    not_a_form = api.client.post(
        f"{BASE}/requests.xml",
        content=f"<request><api_key>{KEY}</api_key></request>",
        headers={"Content-Type": "text/xml"},
    )
    assert not_a_form.status_code == 400  # not 403: the key may be there, the form is not
    assert "not a form" in (xml(not_a_form.content)[0].findtext("description") or "")
    assert table_counts(api.container) == before


def test_the_xml_answers_stay_well_formed_whatever_text_a_report_holds(api: Api) -> None:
    # U+FFFE and U+FFFF are valid UTF-8 but no XML character: one report holding one made
    # GET requests.xml unreadable for every client. The form refuses them; text that came
    # another way (a unit's public answer) is written with U+FFFD in their place.
    refused = post(api, "xml", description="smell \ufffe here")
    assert refused.status_code == 400
    assert xml(refused.content)[0].findtext("description") == (
        "form: description: U+FFFE at character 6 is not a character"
    )
    control = post(api, **{"attribute[strength]": "strong\x07"})
    assert control.json() == [
        {
            "code": 400,
            "description": "form: attribute[strength]: control character U+0007 at character 6",
        }
    ]
    rid = post(api, description="smell by the bridge").json()[0]["service_request_id"]
    handler = unit_member(api, "p1", "P1-CP")
    closed = api.client.post(
        f"/api/v1/reports/{rid}/actions",
        headers=handler,
        json={"action": "close", "note": "repaired \uffff today"},
    )
    assert closed.status_code == 200, closed.text
    for path in ("requests.xml", f"requests/{rid}.xml"):
        answer = api.client.get(f"{BASE}/{path}")
        assert answer.status_code == 200
        [record] = xml_records(answer.content, "request")  # parsed: well-formed
        assert record["status_notes"] == "repaired \ufffd today"
    assert api.client.get(f"{BASE}/requests/{rid}.json").json()[0]["status_notes"] == (
        "repaired \uffff today"  # JSON carries it as it is
    )


def test_a_multipart_body_cut_short_is_refused_and_nothing_is_stored(api: Api) -> None:
    # the multipart library reads a body that stops before its closing boundary as the parts
    # it completed: a report cut off in its last part (its photo, its description) was stored
    body, media = multipart({**GAS, "attribute[strength]": "strong", "description": "cut"})
    before = table_counts(api.container)
    for cut in (body[: -len("--tocsin-test-boundary--\r\n")], body[: body.rindex(b"cut") + 2]):
        answer = api.client.post(
            f"{BASE}/requests.json", content=cut, headers={"Content-Type": media}
        )
        assert answer.status_code == 400, answer.text
        assert answer.json() == [
            {
                "code": 400,
                "description": "body: not a form: the body ends before its closing boundary",
            }
        ]
    assert table_counts(api.container) == before
    whole = api.client.post(f"{BASE}/requests.json", content=body, headers={"Content-Type": media})
    assert whole.status_code == 200, whole.text
