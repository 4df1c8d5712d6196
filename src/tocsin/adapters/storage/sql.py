"""SqlStore: the Store port on SQLAlchemy Core, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    any_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.observations_io import WriteBuffer, pg_copy_merge, sqlite_write
from tocsin.adapters.storage.partitions import (
    PgObservationWriter,
    attached_weeks,
    partition_table,
)
from tocsin.adapters.storage.times import aware, must
from tocsin.core.assets import Asset, AssetCode
from tocsin.core.audit import AuditRecord
from tocsin.core.catalog import Catalog
from tocsin.core.domains import Domain, DomainCode
from tocsin.core.errors import Conflict
from tocsin.core.events import Event
from tocsin.core.indicators import (
    DetectorRule,
    Direction,
    Indicator,
    IndicatorCode,
    Thresholds,
)
from tocsin.core.levels import LEVELS, Level
from tocsin.core.observations import ObservationBatch
from tocsin.core.regions import Region, RegionCode, RegionTree
from tocsin.core.rules.thresholds import N_LEVELS, ThresholdState
from tocsin.core.units import ResponsibleUnit, UnitCode
from tocsin.core.users import Role, User, UserName
from tocsin.core.warnings.model import Warning, WarningId, WarningState
from tocsin.ports import WarningFilter

STATE_COLUMNS = ("indicator_id", "level", "last_ts", "above", "below")
EVENT_KEY_CHUNK = 500  # external ids per look-up query
_LEVEL_ORDER = {lv.value: lv.rank for lv in LEVELS}


class SqlStore:
    """Transactional storage over one SQLAlchemy engine."""

    def __init__(self, engine: Engine, *, write_buffer_rows: int = 5_000_000) -> None:
        self.engine = engine
        self.write_buffer_rows = write_buffer_rows

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[SqlSession]:
        """A session; commits on success, rolls back on any exception."""
        with self.engine.begin() as conn:
            session = SqlSession(conn, buffer=WriteBuffer(self.write_buffer_rows))
            yield session
            session.finish()


@dataclass
class SqlSession:
    """Store operations inside one transaction."""

    conn: Connection
    # observation writes held back until full, a read of observations or the commit; None in a
    # session made outside SqlStore.transaction(), which cannot write observations
    buffer: WriteBuffer | None = None
    pg_writer: PgObservationWriter | None = None  # PostgreSQL: the week partitions being loaded

    def finish(self) -> None:
        """Write what is held back and attach bulk-loaded weeks (before a read, before commit)."""
        self._write_buffered()
        if self.pg_writer is not None:
            self.pg_writer.finish()

    def _raw(self) -> Any:
        """The DB-API connection under this session (for executemany and COPY)."""
        raw = self.conn.connection.driver_connection
        if raw is None:
            raise RuntimeError("connection is closed")
        return raw

    # -- catalogue ---------------------------------------------------------------------------
    def indicator_ids(self) -> dict[str, int]:
        """Indicator code -> id."""
        return {
            r.code: r.id for r in self.conn.execute(select(t.indicators.c.code, t.indicators.c.id))
        }

    def sync_catalog(self, catalog: Catalog) -> dict[str, int]:
        """Replace configuration tables; indicator ids stay stable per code."""
        ids = self.indicator_ids()
        next_id = max(ids.values(), default=-1) + 1
        for ind in catalog.indicators:
            if ind.code not in ids:
                ids[ind.code] = next_id
                next_id += 1
        for table in (t.regions, t.domains, t.assets, t.units, t.indicators):
            self.conn.execute(table.delete())
        self._insert(t.regions, [_region_row(r) for r in catalog.regions.regions.values()])
        self._insert(
            t.domains,
            [
                {"code": d.code, "name": d.name, "cap_category": d.cap_category, "parent": d.parent}
                for d in catalog.domains.values()
            ],
        )
        self._insert(t.indicators, [_indicator_row(ids[i.code], i) for i in catalog.indicators])
        self._insert(t.assets, [_asset_row(a) for a in catalog.assets.values()])
        self._insert(t.units, [_unit_row(u) for u in catalog.units.values()])
        return {i.code: ids[i.code] for i in catalog.indicators}

    def _insert(self, table: Any, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(table), rows)

    def stored_catalog(self) -> Catalog | None:
        """Rebuild the catalogue from the tables; indicators placed in id order."""
        region_rows = self.conn.execute(select(t.regions)).mappings().all()
        if not region_rows:
            return None
        levels: list[str] = []
        for r in region_rows:
            if r["level"] not in levels:
                levels.append(r["level"])
        regions = [
            Region(
                RegionCode(r["code"]),
                r["name"],
                r["level"],
                RegionCode(r["parent"]) if r["parent"] else None,
                r["geometry"],
                r["population"],
            )
            for r in region_rows
        ]
        domains = {
            DomainCode(r["code"]): Domain(
                DomainCode(r["code"]),
                r["name"],
                r["cap_category"],
                DomainCode(r["parent"]) if r["parent"] else None,
            )
            for r in self.conn.execute(select(t.domains)).mappings()
        }
        indicators = tuple(
            _indicator_from_row(r)
            for r in self.conn.execute(select(t.indicators).order_by(t.indicators.c.id)).mappings()
        )
        assets = {
            AssetCode(r["code"]): Asset(
                AssetCode(r["code"]),
                r["name"],
                r["kind"],
                RegionCode(r["region"]),
                DomainCode(r["domain"]),
                tuple(AssetCode(d) for d in r["depends_on"]),
                r["latitude"],
                r["longitude"],
            )
            for r in self.conn.execute(select(t.assets)).mappings()
        }
        units = {
            UnitCode(r["code"]): ResponsibleUnit(
                UnitCode(r["code"]),
                r["name"],
                RegionCode(r["region"]),
                tuple(DomainCode(d) for d in r["domains"]),
                r["email"],
                r["webhook_url"],
            )
            for r in self.conn.execute(select(t.units)).mappings()
        }
        tree = RegionTree.build(tuple(levels), regions)
        return Catalog(tree, domains, indicators, assets, units)

    # -- observations ------------------------------------------------------------------------
    def write_observations(
        self, batch: ObservationBatch, *, new: npt.NDArray[np.bool_] | None = None
    ) -> None:
        """Upsert a deduplicated batch (executemany on SQLite, binary COPY on PostgreSQL).

        `new` marks rows the caller knows are not stored yet (newer than anything stored for
        their indicator); PostgreSQL COPYs those straight into the table. Batches are held back
        and written together in key order (see WriteBuffer); reads in the same transaction see
        them.
        """
        if self.buffer is None:
            raise RuntimeError("observations are written only in SqlStore.transaction()")
        if len(batch) and self.buffer.add(batch, new):
            self._write_buffered()

    def _write_buffered(self) -> None:
        held = self.buffer.take() if self.buffer is not None else None
        if held is None:
            return
        batch, new = held
        raw = self._raw()
        if self.conn.dialect.name == "postgresql":
            if self.pg_writer is None:
                self.pg_writer = PgObservationWriter(raw)
            self.pg_writer.write(batch, new=new)
        else:
            sqlite_write(raw, batch)

    def read_observations(
        self,
        indicator_id: int,
        *,
        since: int | None = None,
        until: int | None = None,
        limit: int = 100_000,
    ) -> ObservationBatch:
        """Observations of one indicator in time order."""
        self.finish()
        o = t.observations
        query = select(o.c.ts, o.c.value).where(o.c.indicator_id == indicator_id)
        if since is not None:
            query = query.where(o.c.ts >= since)
        if until is not None:
            query = query.where(o.c.ts <= until)
        rows = self.conn.execute(query.order_by(o.c.ts).limit(limit)).all()
        times = np.array([r[0] for r in rows], dtype=np.int64)
        values = np.array([r[1] for r in rows], dtype=np.float64)
        return ObservationBatch(np.full(len(rows), indicator_id, dtype=np.int64), times, values)

    def count_observations(self) -> int:
        """Number of stored observations."""
        self.finish()
        return int(self.conn.execute(select(func.count()).select_from(t.observations)).scalar_one())

    # -- rule state --------------------------------------------------------------------------
    def load_threshold_state(self, n: int) -> ThresholdState:
        """State rows for series 0..n-1 (missing rows are fresh).

        The last processed time of a series is the newest observation stored for it: every
        stored observation was evaluated in the transaction that stored it, so the rule state
        only needs saving when a level or a since-moment changes.
        """
        state = ThresholdState.empty(n)
        for r in self.conn.execute(select(t.threshold_state)):
            if r.indicator_id < n:
                state.level[r.indicator_id] = r.level
                state.last_time[r.indicator_id] = r.last_ts
                state.above_since[r.indicator_id] = np.frombuffer(r.above, dtype="<i8")
                state.below_since[r.indicator_id] = np.frombuffer(r.below, dtype="<i8")
        self.finish()
        for ident, ts in self._newest_times().items():
            if ident < n:
                state.last_time[ident] = max(int(state.last_time[ident]), ts)
        return state

    def _newest_times(self) -> dict[int, int]:
        """Indicator id -> time of its newest stored observation, one index probe per indicator
        (a GROUP BY would read every stored row, making start-up grow with the history).

        On PostgreSQL the weeks are probed newest first, and only for the indicators that have
        no observation in the newer weeks.
        """
        if self.conn.dialect.name != "postgresql":
            found = self.conn.execute(newest_per_indicator(t.observations))
            return {ident: ts for ident, ts in found if ts is not None}
        newest: dict[int, int] = {}
        left: list[int] | None = None
        for week in attached_weeks(self._raw()):
            query = newest_per_indicator(partition_table(week))
            if left is not None:  # one array parameter: the protocol allows 65,535 in all
                ids = bindparam("left", left, ARRAY(Integer))
                query = query.where(t.indicators.c.id == any_(ids))
            rows = list(self.conn.execute(query))
            newest.update({ident: ts for ident, ts in rows if ts is not None})
            left = [ident for ident, ts in rows if ts is None]
            if not left:
                break
        return newest

    def save_threshold_state(self, series: npt.NDArray[np.int64], state: ThresholdState) -> None:
        """Upsert the state rows of the given series."""
        if len(series) == 0:
            return
        above = np.ascontiguousarray(state.above_since[series], dtype="<i8").view(
            f"V{8 * N_LEVELS}"
        )
        below = np.ascontiguousarray(state.below_since[series], dtype="<i8").view(
            f"V{8 * N_LEVELS}"
        )
        rows = list(
            zip(
                series.tolist(),
                state.level[series].tolist(),
                state.last_time[series].tolist(),
                [bytes(b) for b in above.ravel()],
                [bytes(b) for b in below.ravel()],
                strict=True,
            )
        )
        sql = (
            "INSERT INTO threshold_state (indicator_id, level, last_ts, above, below) "
            "VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT (indicator_id) DO UPDATE SET "
            "level = excluded.level, last_ts = excluded.last_ts, above = excluded.above, "
            "below = excluded.below"
        )
        raw = self._raw()
        if self.conn.dialect.name == "postgresql":
            pg_copy_merge(raw, "threshold_state", STATE_COLUMNS, rows, key="indicator_id")
        else:
            raw.executemany(sql.format(p="?"), rows)

    def load_checkpoint(self, name: str) -> bytes | None:
        """A named checkpoint blob (detector and score-rule state), if any."""
        row = self.conn.execute(
            select(t.rule_checkpoints.c.data).where(t.rule_checkpoints.c.name == name)
        ).first()
        return bytes(row[0]) if row else None

    def save_checkpoint(self, name: str, data: bytes) -> None:
        """Replace a named checkpoint blob."""
        self.conn.execute(t.rule_checkpoints.delete().where(t.rule_checkpoints.c.name == name))
        self.conn.execute(insert(t.rule_checkpoints), [{"name": name, "data": data}])

    # -- events ------------------------------------------------------------------------------
    def insert_events(self, events: Sequence[Event], *, received_at: datetime) -> int:
        """Insert events not yet stored; return how many were new."""
        if not events:
            return 0
        existing = self._stored_event_keys({(e.source, e.external_id) for e in events})
        fresh: dict[tuple[str, str], Event] = {}
        for e in events:
            if (e.source, e.external_id) not in existing:
                fresh[(e.source, e.external_id)] = e
        self._insert(t.events, [_event_row(e, received_at) for e in fresh.values()])
        return len(fresh)

    def _stored_event_keys(self, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (source, external_id) keys are stored: one `source = ? AND external_id IN (…)`
        query per source and chunk of ids (an OR of pairs per key overflows SQLite's
        expression depth past 1,000 keys, and parameters are bounded on both databases)."""
        ids_by_source: dict[str, list[str]] = {}
        for source, external_id in keys:
            ids_by_source.setdefault(source, []).append(external_id)
        c = t.events.c
        found: set[tuple[str, str]] = set()
        for source, ids in ids_by_source.items():
            for start in range(0, len(ids), EVENT_KEY_CHUNK):
                query = select(c.external_id).where(
                    c.source == source, c.external_id.in_(ids[start : start + EVENT_KEY_CHUNK])
                )
                found.update((source, x) for x in self.conn.execute(query).scalars())
        return found

    def list_events(self, *, limit: int = 200) -> list[dict[str, Any]]:
        """Newest events first."""
        query = select(t.events).order_by(t.events.c.occurred_at.desc()).limit(limit)
        out = []
        for r in self.conn.execute(query).mappings():
            row = dict(r)
            row["occurred_at"] = aware(row["occurred_at"])
            row["received_at"] = aware(row["received_at"])
            out.append(row)
        return out

    # -- warnings ----------------------------------------------------------------------------
    def open_warnings(self, fingerprints: Sequence[str] | None = None) -> dict[str, Warning]:
        """Open warnings keyed by fingerprint."""
        w = t.warnings
        query = select(w).where(w.c.state != WarningState.LIFTED.value)
        if fingerprints is not None:
            if not fingerprints:
                return {}
            query = query.where(w.c.fingerprint.in_(list(fingerprints)))
        return {r["fingerprint"]: _warning_from_row(r) for r in self.conn.execute(query).mappings()}

    def save_warning(self, warning: Warning, *, new: bool) -> None:
        """Insert or update one warning."""
        row = _warning_row(warning)
        try:
            if new:
                self.conn.execute(insert(t.warnings), [row])
            else:
                self.conn.execute(
                    update(t.warnings).where(t.warnings.c.id == warning.id).values(**row)
                )
        except IntegrityError as err:
            raise Conflict(f"warning {warning.fingerprint} is already open") from err

    def save_warnings(self, warnings: Sequence[Warning], *, new: bool) -> None:
        """Insert (new=True) or update many warnings with one executemany."""
        if not warnings:
            return
        rows = [_warning_row(w) for w in warnings]
        try:
            if new:
                self.conn.execute(insert(t.warnings), rows)
            else:
                columns: dict[str, Any] = {k: bindparam(f"v_{k}") for k in rows[0] if k != "id"}
                stmt = update(t.warnings).where(t.warnings.c.id == bindparam("v_id"))
                self.conn.execute(
                    stmt.values(**columns), [{f"v_{k}": v for k, v in r.items()} for r in rows]
                )
        except IntegrityError as err:
            raise Conflict("a warning with the same fingerprint is already open") from err

    def touch_warnings(self, last_seen: Mapping[WarningId, datetime]) -> None:
        """Move last_seen_at forward for open warnings."""
        if not last_seen:
            return
        w = t.warnings
        stmt = update(w).where(w.c.id == bindparam("wid")).values(last_seen_at=bindparam("seen"))
        self.conn.execute(stmt, [{"wid": k, "seen": v} for k, v in last_seen.items()])

    def get_warning(self, warning_id: str) -> Warning | None:
        """One warning by id."""
        row = (
            self.conn.execute(select(t.warnings).where(t.warnings.c.id == warning_id))
            .mappings()
            .first()
        )
        return _warning_from_row(row) if row else None

    def list_warnings(self, query: WarningFilter) -> list[Warning]:
        """Warnings by filter; sorted by level (red first), then oldest first."""
        w = t.warnings
        stmt = select(w)
        if query.open_only:
            stmt = stmt.where(w.c.state != WarningState.LIFTED.value)
        if query.levels:
            stmt = stmt.where(w.c.level.in_(query.levels))
        if query.domain_prefix:
            stmt = stmt.where(
                or_(w.c.domain == query.domain_prefix, w.c.domain.like(query.domain_prefix + ".%"))
            )
        if query.regions is not None:
            stmt = stmt.where(w.c.region.in_(list(query.regions)))
        rows = [_warning_from_row(r) for r in self.conn.execute(stmt).mappings()]
        rows.sort(key=lambda x: (-_LEVEL_ORDER[x.level.value], x.first_seen_at, x.id))
        return rows[: query.limit]

    # -- audit -------------------------------------------------------------------------------
    def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Append records to the audit log."""
        self._insert(
            t.audit_log,
            [
                {
                    "at": r.at,
                    "actor": r.actor,
                    "kind": r.kind,
                    "subject_type": r.subject_type,
                    "subject_id": r.subject_id,
                    "reason": r.reason,
                    "details": dict(r.details),
                }
                for r in records
            ],
        )

    def audit_for(self, subject_type: str, subject_id: str) -> list[AuditRecord]:
        """One subject's trail, oldest first."""
        a = t.audit_log
        query = (
            select(a)
            .where(a.c.subject_type == subject_type, a.c.subject_id == subject_id)
            .order_by(a.c.id)
        )
        return [
            AuditRecord(
                must(r["at"]),
                r["actor"],
                r["kind"],
                r["subject_type"],
                r["subject_id"],
                r["reason"],
                r["details"],
            )
            for r in self.conn.execute(query).mappings()
        ]

    # -- users -------------------------------------------------------------------------------
    def save_user(self, user: User, *, now: datetime) -> None:
        """Create or update a user."""
        u = t.users
        exists = self.conn.execute(select(u.c.name).where(u.c.name == user.name)).first()
        values = {"role": user.role.value, "unit": user.unit}
        if exists:
            self.conn.execute(update(u).where(u.c.name == user.name).values(**values))
        else:
            self.conn.execute(insert(u), [{"name": user.name, "created_at": now, **values}])

    def add_token(self, token_hash: str, *, user: str, label: str, now: datetime) -> None:
        """Store a token hash."""
        self.conn.execute(
            insert(t.api_tokens),
            [{"token_hash": token_hash, "user_name": user, "label": label, "created_at": now}],
        )

    def user_for_token(self, token_hash: str) -> User | None:
        """The user of a valid (not revoked) token."""
        u, k = t.users, t.api_tokens
        row = self.conn.execute(
            select(u.c.name, u.c.role, u.c.unit)
            .join(k, k.c.user_name == u.c.name)
            .where(k.c.token_hash == token_hash, k.c.revoked_at.is_(None))
        ).first()
        return User(UserName(row.name), Role(row.role), row.unit) if row else None


def _region_row(r: Region) -> dict[str, Any]:
    return {
        "code": r.code,
        "name": r.name,
        "level": r.level,
        "parent": r.parent,
        "population": r.population,
        "geometry": dict(r.geometry) if r.geometry else None,
    }


def _indicator_row(ident: int, i: Indicator) -> dict[str, Any]:
    return {
        "id": ident,
        "code": i.code,
        "name": i.name,
        "region": i.region,
        "domain": i.domain,
        "unit": i.unit,
        "direction": i.direction.value,
        "thresholds": {lv.value: i.thresholds.for_level(lv) for lv in LEVELS},
        "cadence_s": int(i.cadence.total_seconds()) if i.cadence else None,
        "raise_after_s": int(i.raise_after.total_seconds()),
        "clear_after_s": int(i.clear_after.total_seconds()),
        "hysteresis": i.hysteresis,
        "asset": i.asset,
        "detector": _detector_json(i.detector),
    }


def _detector_json(rule: DetectorRule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {
        "kind": rule.kind,
        "params": dict(rule.params),
        "thresholds": {lv.value: rule.thresholds.for_level(lv) for lv in LEVELS},
        "raise_after_s": int(rule.raise_after.total_seconds()),
        "clear_after_s": int(rule.clear_after.total_seconds()),
    }


def _detector_from_json(data: Mapping[str, Any] | None) -> DetectorRule | None:
    if not data:
        return None
    return DetectorRule(
        kind=data["kind"],
        params=dict(data["params"]),
        thresholds=Thresholds(**data["thresholds"]),
        raise_after=timedelta(seconds=data["raise_after_s"]),
        clear_after=timedelta(seconds=data["clear_after_s"]),
    )


def _indicator_from_row(r: Mapping[Any, Any]) -> Indicator:
    return Indicator(
        code=IndicatorCode(r["code"]),
        name=r["name"],
        region=RegionCode(r["region"]),
        domain=DomainCode(r["domain"]),
        unit=r["unit"],
        cadence=timedelta(seconds=r["cadence_s"]) if r["cadence_s"] else None,
        direction=Direction(r["direction"]),
        thresholds=Thresholds(**r["thresholds"]),
        raise_after=timedelta(seconds=r["raise_after_s"]),
        clear_after=timedelta(seconds=r["clear_after_s"]),
        hysteresis=r["hysteresis"],
        asset=r["asset"],
        detector=_detector_from_json(r["detector"]),
    )


def _asset_row(a: Asset) -> dict[str, Any]:
    return {
        "code": a.code,
        "name": a.name,
        "kind": a.kind,
        "region": a.region,
        "domain": a.domain,
        "depends_on": list(a.depends_on),
        "latitude": a.latitude,
        "longitude": a.longitude,
    }


def _unit_row(u: ResponsibleUnit) -> dict[str, Any]:
    return {
        "code": u.code,
        "name": u.name,
        "region": u.region,
        "domains": list(u.domains),
        "email": u.email,
        "webhook_url": u.webhook_url,
    }


def _event_row(e: Event, received_at: datetime) -> dict[str, Any]:
    return {
        "source": e.source,
        "external_id": e.external_id,
        "occurred_at": e.occurred_at,
        "received_at": received_at,
        "region": e.region,
        "domain": e.domain,
        "severity": e.severity.value,
        "title": e.title,
        "description": e.description,
        "asset": e.asset,
        "attributes": dict(e.attributes),
    }


def _warning_row(w: Warning) -> dict[str, Any]:
    return {
        "id": w.id,
        "fingerprint": w.fingerprint,
        "source": w.source,
        "subject": w.subject,
        "region": w.region,
        "domain": w.domain,
        "level": w.level.value,
        "state": w.state.value,
        "first_seen_at": w.first_seen_at,
        "last_seen_at": w.last_seen_at,
        "updated_at": w.updated_at,
        "cause": dict(w.cause),
        "explanation": dict(w.explanation),
        "labels": dict(w.labels),
        "acknowledged_by": w.acknowledged_by,
        "lifted_at": w.lifted_at,
    }


def _warning_from_row(r: Mapping[Any, Any]) -> Warning:
    return Warning(
        id=WarningId(r["id"]),
        fingerprint=r["fingerprint"],
        source=r["source"],
        subject=r["subject"],
        region=RegionCode(r["region"]),
        domain=DomainCode(r["domain"]),
        level=Level(r["level"]),
        state=WarningState(r["state"]),
        first_seen_at=must(r["first_seen_at"]),
        last_seen_at=must(r["last_seen_at"]),
        updated_at=must(r["updated_at"]),
        cause=r["cause"],
        explanation=r["explanation"],
        labels=r["labels"],
        acknowledged_by=r["acknowledged_by"],
        lifted_at=aware(r["lifted_at"]),
    )


def newest_per_indicator(observations: Any) -> Any:
    """SELECT id, (newest ts of that indicator in `observations`) FROM indicators."""
    newest = (
        select(func.max(observations.c.ts))
        .where(observations.c.indicator_id == t.indicators.c.id)
        .scalar_subquery()
    )
    return select(t.indicators.c.id, newest)
