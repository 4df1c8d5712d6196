"""Public alerts end to end in the services, on SQLite and PostgreSQL: drafted from a warning in
two languages, approved by a second person, published (valid against the OASIS schema and read
back by cap-tools), in the feed, handed to subscribers through the outbox; upgrades, downgrades
and lifts follow; a failed check blocks publication naming the rule and where."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.cap_support import SYSTEM, T0, World, cap_world, read_independently
from tocsin.core.cap.lifecycle import AlertState, PublicAlert
from tocsin.core.errors import Conflict, Forbidden, IllegalTransition, InvalidInput
from tocsin.core.levels import Level
from tocsin.core.warnings.outbox import NotificationKind
from tocsin.services.public_alert_views import FeedFilter
from tocsin.services.publication import Choices

SUBSCRIBER = {"name": "radio", "webhooks": [{"url": "http://radio.example/cap"}]}


def _publish(world: World, warning_id: str) -> PublicAlert:
    alerts = world.container.cap.alerts
    draft = alerts.draft_from_warning(
        warning_id, principal=world.person("alice"), choices=Choices()
    )
    alerts.submit(draft.identifier, principal=world.person("alice"))
    return alerts.approve(draft.identifier, principal=world.person("bob"), reason="checked")


def _feed(world: World, **chosen: object) -> str:
    answer = world.container.cap.views.feed(
        FeedFilter(**chosen),  # type: ignore[arg-type]
        self_url="http://test/cap/feed.atom",
        if_none_match=None,
    )
    assert answer.body is not None
    return answer.body.decode()


def test_a_warning_is_drafted_in_two_languages_approved_by_a_second_person_and_published(
    tmp_path: Path, db_url: str
) -> None:
    with cap_world(tmp_path, db_url, subscribers=[SUBSCRIBER]) as world:
        world.observe("D11.river_level", 5.5)  # red
        warning = world.warning()
        alerts = world.container.cap.alerts
        draft = alerts.draft_from_warning(
            warning.id, principal=world.person("alice"), choices=Choices()
        )
        assert (draft.state, draft.authors, draft.level) == (
            AlertState.DRAFT,
            ("alice",),
            Level.RED,
        )
        infos = draft.message.infos
        assert [i.language for i in infos] == ["en-GB", "fr-FR"]
        assert {i.severity.value for i in infos} == {"Extreme"}
        assert {i.categories for i in infos} == {("Met",)}  # natural.flood's CAP category
        assert all(i.parameter("WARNING_LEVEL") == "red" for i in infos)
        assert "5.5 m (threshold 5 m)" in (infos[0].description or "")  # the explanation
        assert "rouge" in (infos[1].headline or "")
        area = infos[0].areas[0]
        assert (area.geocodes[0].name, area.geocodes[0].value) == ("TOCSIN", "D11")
        assert area.polygons[0].split()[0] == area.polygons[0].split()[-1]  # closed
        alerts.submit(draft.identifier, principal=world.person("alice"))
        with pytest.raises(Forbidden, match="second person"):
            alerts.approve(draft.identifier, principal=world.person("alice"))
        published = alerts.approve(draft.identifier, principal=world.person("bob"), reason="ok")
        assert (published.state, published.approved_by) == (AlertState.PUBLISHED, "bob")
        assert published.xml is not None
        tools = read_independently(published.xml)
        assert (tools.identifier, len(tools.infos)) == (draft.identifier, 2)
        assert tools.infos[0].severity.value == "Extreme"
        assert draft.identifier in _feed(world)
        (note,) = world.deliver()
        assert note.kind is NotificationKind.PUBLIC_ALERT
        assert note.payload["identifier"] == draft.identifier
        assert note.payload["cap"] == published.xml
        trail = world.container.cap.views.history(draft.identifier, principal=SYSTEM)
        assert [(r.kind, r.actor) for r in trail] == [
            ("public_alert.drafted", "alice"),
            ("public_alert.submitted", "alice"),
            ("public_alert.approved", "bob"),
            ("public_alert.published", "bob"),
        ]


def test_an_upgrade_drafts_an_update_with_references_and_a_lift_a_cancel(
    tmp_path: Path, db_url: str
) -> None:
    with cap_world(tmp_path, db_url) as world:
        world.observe("D11.river_level", 4.5)  # orange
        first = _publish(world, world.warning().id)
        world.later(10)
        world.observe("D11.river_level", 5.5)  # red: upgraded
        world.container.cap.follower.tick(world.clock.now())
        (update,) = world.container.cap.views.find(principal=SYSTEM, states=[AlertState.DRAFT])
        assert (update.msg_type.value, update.level, update.thread) == (
            "Update",
            Level.RED,
            first.identifier,
        )
        alerts = world.container.cap.alerts
        alerts.submit(update.identifier, principal=world.person("alice"))
        updated = alerts.approve(update.identifier, principal=world.person("bob"))
        assert updated.message.references == (first.message.reference(),)
        assert updated.xml is not None
        read_independently(updated.xml)
        old = world.container.cap.views.get(first.identifier, principal=SYSTEM)
        assert old.state is AlertState.SUPERSEDED
        feed = _feed(world)
        assert update.identifier in feed
        assert first.identifier not in feed
        world.later(10)
        world.observe("D11.river_level", 0.5)  # lifted
        world.container.cap.follower.tick(world.clock.now())
        (cancel,) = world.container.cap.views.find(principal=SYSTEM, states=[AlertState.DRAFT])
        assert cancel.msg_type.value == "Cancel"
        alerts.submit(cancel.identifier, principal=world.person("bob"))
        done = alerts.approve(cancel.identifier, principal=world.person("alice"))
        assert done.message.references == (updated.message.reference(),)
        assert done.xml is not None
        read_independently(done.xml)
        # the Cancel is in the feed for cancel_visible_for (1 h), then nothing is
        assert cancel.identifier in _feed(world)
        world.later(61)
        assert "<entry>" not in _feed(world)


def test_a_lift_can_be_an_all_clear_update_and_auto_publication_needs_no_second_person(
    tmp_path: Path, db_url: str
) -> None:
    auto = [{"domain": "natural", "levels": ["red"]}]
    with cap_world(tmp_path, db_url, auto_publish=auto, lift_as="all_clear") as world:
        world.observe("D11.river_level", 4.5)  # orange: not auto-published
        world.container.cap.follower.tick(world.clock.now())
        assert world.container.cap.views.find(principal=SYSTEM) == []
        world.later(10)
        world.observe("D11.river_level", 5.5)  # red: auto-published (natural.flood is natural's)
        world.container.cap.follower.tick(world.clock.now())
        (published,) = world.container.cap.views.active()
        assert (published.auto, published.approved_by) == (True, "system:auto-publish")
        assert published.xml is not None
        read_independently(published.xml)
        world.later(10)
        world.observe("D11.river_level", 0.5)
        world.container.cap.follower.tick(world.clock.now())
        (clear,) = world.container.cap.views.active()  # the automatic thread ends by itself
        assert clear.msg_type.value == "Update"
        assert all(i.response_types[0].value == "AllClear" for i in clear.message.infos)
        assert clear.message.references == (published.message.reference(),)


def test_a_failed_check_blocks_publication_naming_the_rule_and_where(
    tmp_path: Path, db_url: str
) -> None:
    with cap_world(tmp_path, db_url) as world:
        world.observe("D11.river_level", 5.5)
        alerts = world.container.cap.alerts
        draft = alerts.draft_from_warning(
            world.warning().id, principal=world.person("alice"), choices=Choices()
        )
        alerts.edit(
            draft.identifier,
            principal=world.person("alice"),
            choices=Choices(expires=T0 + timedelta(minutes=5)),
        )
        alerts.submit(draft.identifier, principal=world.person("alice"))
        world.later(30)  # the alert would leave after it expires
        with pytest.raises(InvalidInput) as refused:
            alerts.approve(draft.identifier, principal=world.person("bob"))
        where = {(p.where, p.field) for p in refused.value.problems}
        assert ("alert.info[0].expires", "expires") in where
        assert ("alert.info[1].expires", "expires") in where
        still = world.container.cap.views.get(draft.identifier, principal=SYSTEM)
        assert still.state is AlertState.SUBMITTED  # nothing of the approval was kept
        assert world.container.cap.views.active() == []
        trail = world.container.cap.views.history(draft.identifier, principal=SYSTEM)
        assert trail[-1].kind == "public_alert.refused"


def test_rejection_needs_a_reason_and_a_second_person_and_sends_the_draft_back(
    tmp_path: Path, db_url: str
) -> None:
    with cap_world(tmp_path, db_url) as world:
        world.observe("D11.river_level", 5.5)
        alerts = world.container.cap.alerts
        alice, bob = world.person("alice"), world.person("bob")
        draft = alerts.draft_from_warning(world.warning().id, principal=alice, choices=Choices())
        alerts.submit(draft.identifier, principal=alice)
        with pytest.raises(InvalidInput, match="reason"):
            alerts.reject(draft.identifier, principal=bob, reason=" ")
        rejected = alerts.reject(draft.identifier, principal=bob, reason="wrong district")
        assert (rejected.state, rejected.reason) == (AlertState.REJECTED, "wrong district")
        with pytest.raises(IllegalTransition):
            alerts.approve(draft.identifier, principal=bob)
        texts = {"en-GB": {"headline": "Flood warning for D11"}}
        edited = alerts.edit(draft.identifier, principal=bob, choices=Choices(texts=texts))
        assert (edited.state, edited.authors) == (AlertState.DRAFT, ("alice", "bob"))
        assert edited.message.infos[0].headline == "Flood warning for D11"
        alerts.submit(draft.identifier, principal=bob)
        with pytest.raises(Forbidden):  # bob edited it: a third person must approve
            alerts.approve(draft.identifier, principal=bob)
        with pytest.raises(Conflict, match="edit or withdraw it first"):
            alerts.draft_from_warning(world.warning().id, principal=alice, choices=Choices())


def test_the_feed_filters_by_region_subtree_domain_level_and_language(
    tmp_path: Path, db_url: str
) -> None:
    with cap_world(tmp_path, db_url) as world:
        world.observe("D11.river_level", 5.5)  # red flood in D11
        world.observe("D21.reservoir", 25.0)  # yellow water supply in D21
        flood = _publish(world, world.warning().id)
        water = _publish(world, world.warning("D21.reservoir").id)
        both = {flood.identifier, water.identifier}

        def ids(**chosen: object) -> set[str]:
            return {i for i in both if i in _feed(world, **chosen)}

        assert ids() == both
        assert ids(region="P1") == {flood.identifier}  # D11 is in P1's subtree
        assert ids(region="N") == both
        assert ids(domains=("natural",)) == {flood.identifier}
        assert ids(levels=("yellow",)) == {water.identifier}
        assert ids(language="fr-FR") == both
        assert ids(language="de-DE") == set()
        assert "Vigilance rouge" in _feed(world, language="fr")
        views = world.container.cap.views
        first = views.feed(FeedFilter(), self_url="u", if_none_match=None)
        again = views.feed(FeedFilter(), self_url="u", if_none_match=first.etag)
        assert (again.body, again.etag) == (None, first.etag)
        world.later(24 * 60 + 1)  # both expire: they leave the feed, the ETag changes
        later = views.feed(FeedFilter(), self_url="u", if_none_match=first.etag)
        assert later.body is not None
        assert later.etag != first.etag
        assert ids() == set()


def test_subscribers_get_new_updated_and_cancelled_alerts_within_their_filter(
    tmp_path: Path, db_url: str
) -> None:
    subscribers = [
        {"name": "p1-radio", "webhooks": [{"url": "http://p1.example/cap"}], "regions": ["P1"]},
        {"name": "p2-only", "emails": ["p2@example.test"], "regions": ["P2"]},
        {"name": "red-only", "webhooks": [{"url": "http://red.example/"}], "levels": ["red"]},
    ]
    with cap_world(tmp_path, db_url, subscribers=subscribers) as world:
        world.observe("D11.river_level", 4.5)
        first = _publish(world, world.warning().id)
        assert [n.receiver for n in world.deliver()] == ["p1-radio"]  # orange, in P1
        world.later(10)
        world.observe("D11.river_level", 5.5)
        world.container.cap.follower.tick(world.clock.now())
        (update,) = world.container.cap.views.find(principal=SYSTEM, states=[AlertState.DRAFT])
        world.container.cap.alerts.submit(update.identifier, principal=world.person("alice"))
        world.container.cap.alerts.approve(update.identifier, principal=world.person("bob"))
        sent = world.deliver()
        assert sorted(n.receiver for n in sent[1:]) == ["p1-radio", "red-only"]
        assert {n.payload["what"] for n in sent[1:]} == {"updated"}
        assert sent[0].payload["identifier"] == first.identifier


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("alice", True), ("carol", False), ("dave", False), ("eve", True)],
)
def test_drafting_needs_the_draft_permission_and_the_warning_in_scope(
    tmp_path: Path, who: str, allowed: bool
) -> None:
    with cap_world(tmp_path, "memory://") as world:
        world.observe("D11.river_level", 5.5)
        draft = world.container.cap.alerts.draft_from_warning
        if allowed:
            assert draft(world.warning().id, principal=world.person(who), choices=Choices())
        else:
            with pytest.raises(Forbidden):
                draft(world.warning().id, principal=world.person(who), choices=Choices())


def test_several_regions_drafted_by_hand_are_several_areas_with_their_geocodes(
    tmp_path: Path,
) -> None:
    with cap_world(tmp_path, "memory://") as world:
        draft = world.container.cap.alerts.draft(
            regions=["D11", "D12"],
            domain="natural.storm",
            level=Level.ORANGE,
            principal=world.person("alice"),
            choices=Choices(),
        )
        for info in draft.message.infos:
            assert [a.description for a in info.areas] == ["District D11", "District D12"]
            assert [a.geocodes[0].value for a in info.areas] == ["D11", "D12"]
            assert all(len(a.polygons) == 1 for a in info.areas)
        assert draft.warning_id is None
        assert draft.message.infos[0].severity.value == "Severe"
