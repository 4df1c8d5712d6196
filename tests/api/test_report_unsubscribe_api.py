"""The unsubscribe link of a reporter's status e-mail over HTTP: a page with one button (a GET
changes nothing), the form that deletes the contact, the same refusal for a wrong token and an
unknown report, and a rate limit per address range."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.conftest import Api, serve_api
from tocsin.adapters.contact_cipher import new_key

KEY = "app-key-0123456789abcdef"
EMAIL = "reporter.person@example.test"
FORM = {"api_key": KEY, "service_code": "gas_smell", "lat": "45.5123", "long": "10.5123"}


@pytest.fixture
def api(sqlite_url: str, tmp_path: Path) -> Iterator[Api]:
    with serve_api(
        sqlite_url, tmp_path, open311_api_keys=f"city-app:{KEY}", report_contact_key=new_key()
    ) as served:
        yield served


def contact_kept(api: Api, rid: str) -> bool:
    with api.container.store.transaction() as tx:
        return tx.reports.contact(rid) is not None


def test_the_link_shows_a_page_and_the_form_deletes_the_contact(api: Api) -> None:
    form = {**FORM, "attribute[strength]": "strong", "email": EMAIL}
    rid = api.client.post("/open311/v2/requests.json", data=form).json()[0]["service_request_id"]
    mail = api.container.reporter_mail
    assert mail is not None
    link = urlsplit(mail.links(rid).unsubscribe)
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    page = api.client.get(link.path, params=query)
    assert page.status_code == 200
    assert 'method="post"' in page.text
    assert query["token"] in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert contact_kept(api, rid)  # opening the link changed nothing
    wrong = api.client.post(link.path, data={**query, "token": "A" * 22})
    unknown = api.client.post(link.path, data={"report": "0" * 16, "token": query["token"]})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert contact_kept(api, rid)
    done = api.client.post(link.path, data=query)
    assert done.status_code == 200
    assert "Updates stopped" in done.text
    assert not contact_kept(api, rid)
    assert EMAIL not in page.text + done.text + wrong.text
    with api.container.store.transaction() as tx:
        trail = tx.audit.trail("report", rid)
    assert [r.kind for r in trail].count("report.unsubscribed") == 1


def test_a_cut_link_is_refused_like_a_wrong_one_and_many_tries_are_limited(api: Api) -> None:
    cut = api.client.get("/report/unsubscribe", params={"report": "abc"})
    assert cut.status_code == 404
    bad = api.client.get("/report/unsubscribe", params={"report": "a b", "token": "x"})
    assert bad.status_code == 422  # not a report id at all: said where
    codes = [
        api.client.post("/report/unsubscribe", data={"report": "r", "token": "t"}).status_code
        for _ in range(12)
    ]
    assert set(codes[:5]) == {404}
    assert codes[-1] == 429
