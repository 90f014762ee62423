"""The team configuration without AWS: the per-container cache, defaults, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from shared.config_ports import StoredDocument
from shared.domain.errors import InvalidInput
from shared.domain.qualification import DEFAULT_RULES, QualificationRule, QualificationRules
from shared.domain.routing import RoutingPolicy
from shared.domain.sla_policy import BusinessCalendar, SlaTargets, TimeRange, Weekday
from shared.domain.team_config import DEFAULT_SLA_SETTINGS, QUALIFICATION, ROUTING, TeamConfig
from shared.services import team_config
from tests.support import FixedClock

AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


class MemoryStore:
    """What the DynamoDB store keeps, without its guards (tested on moto)."""

    def __init__(self, *documents: StoredDocument) -> None:
        self.documents = {d.kind: d for d in documents}
        self.reads = 0

    def current(self) -> list[StoredDocument]:
        self.reads += 1
        return list(self.documents.values())

    def get(self, kind: str) -> StoredDocument | None:
        return self.documents.get(kind)

    def write(
        self, kind: str, document: str | None, expected_version: int, by: str, at: datetime
    ) -> StoredDocument:
        stored = StoredDocument(kind, expected_version + 1, document, at, by)
        self.documents[kind] = stored
        return stored


def _routing(threshold: int, version: int = 1) -> StoredDocument:
    return StoredDocument(ROUTING.kind, version, RoutingPolicy(backup_threshold=threshold).model_dump_json())


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_cache_reads_once_per_ttl_then_sees_the_new_document():
    store, ticks = MemoryStore(_routing(5)), Ticks()
    cache = team_config.CachedConfig(lambda: team_config.load(store), ttl_s=60, monotonic=ticks)

    assert cache.current().routing.backup_threshold == 5
    store.documents[ROUTING.kind] = _routing(2, version=2)  # a supervisor edits it
    ticks.now += 59.9
    assert cache.current().routing.backup_threshold == 5  # still within the minute: no read
    assert store.reads == 1
    ticks.now += 0.1
    assert cache.current().routing.backup_threshold == 2
    assert store.reads == 2


def test_invalidate_forces_the_next_read_and_the_playbook_follows():
    store, ticks = MemoryStore(), Ticks()
    cache = team_config.CachedConfig(lambda: team_config.load(store), monotonic=ticks)
    assert cache.playbook().qualification == DEFAULT_RULES
    rules = QualificationRules(
        rules=[
            QualificationRule.model_validate(
                {"id": "r", "when": {"keywords": ["colis"]}, "topic": "delivery"}
            )
        ]
    )
    team_config.save(store, FixedClock(AT), QUALIFICATION, rules, 0, by="agent:claire")

    cache.invalidate()

    assert cache.playbook().qualification == rules
    assert store.reads == 2


def test_nothing_stored_or_a_reset_means_the_defaults():
    assert team_config.load(MemoryStore()) == TeamConfig()
    reset = StoredDocument(ROUTING.kind, 3, None, AT, "agent:claire")
    setting = team_config.read(MemoryStore(reset), ROUTING)
    assert (setting.value, setting.version, setting.is_default) == (RoutingPolicy(), 3, True)


def test_a_stored_document_that_no_longer_validates_falls_back_to_its_defaults_and_is_reported():
    broken = StoredDocument(ROUTING.kind, 4, '{"backup_threshold": -3}')
    reported: list[str] = []

    config = team_config.load(MemoryStore(broken), on_invalid=lambda kind, problem: reported.append(kind))

    assert config.routing == RoutingPolicy()
    assert reported == ["routing_policy"]


def test_a_meaningful_none_survives_the_round_trip():
    """No fallback type means "leave it unqualified": it must not come back as the default."""
    store = MemoryStore()
    strict = DEFAULT_RULES.model_copy(update={"fallback_type": None})
    team_config.save(store, FixedClock(AT), QUALIFICATION, strict, 0, by="agent:claire")

    assert team_config.load(store).qualification.fallback_type is None


def test_a_document_too_large_for_an_item_is_refused():
    many = [
        QualificationRule.model_validate(
            {"id": f"r{n}", "when": {"keywords": ["x" * 60] * 50}, "topic": "sales"}
        )
        for n in range(120)
    ]
    with pytest.raises(InvalidInput, match="KB"):
        team_config.save(
            MemoryStore(), FixedClock(AT), QUALIFICATION, QualificationRules(rules=many), 0, by="a"
        )


def test_the_playbook_carries_the_sla_settings():
    calendar = BusinessCalendar(
        timezone="UTC", hours={Weekday.monday: [TimeRange(start=time(8), end=time(12))]}
    )
    config = TeamConfig(sla=DEFAULT_SLA_SETTINGS.model_copy(update={"calendar": calendar}))
    assert config.playbook().calendar == calendar
    assert config.playbook().sla == DEFAULT_SLA_SETTINGS.policy


@pytest.mark.parametrize(
    ("build", "says"),
    [
        (
            lambda: QualificationRule.model_validate(
                {"id": "r", "when": {"keywords": []}, "topic": "billing"}
            ),
            "condition",
        ),
        (
            lambda: QualificationRule.model_validate({"id": "r", "when": {"keywords": ["remboursement"]}}),
            "neither",
        ),
        (
            lambda: SlaTargets(
                first_response=-timedelta(hours=1), next_response=timedelta(1), resolution=timedelta(1)
            ),
            "positive",
        ),
        (
            lambda: BusinessCalendar(
                hours={
                    Weekday.monday: [
                        TimeRange(start=time(9), end=time(13)),
                        TimeRange(start=time(12), end=time(18)),
                    ]
                }
            ),
            "overlap",
        ),
        (lambda: BusinessCalendar(timezone="Mars/Olympus_Mons"), "unknown time zone"),
        (lambda: RoutingPolicy(backup_threshold=-1), "greater than or equal to 0"),
    ],
)
def test_what_an_admin_may_not_store(build, says):
    with pytest.raises(ValidationError, match=says):
        build()
