"""Admins and supervisors edit the team configuration; request paths read it through a cache.

Editing: ``read`` gives a document with its version, ``save`` stores a validated one if nobody
saved another since that version (else ``Conflict``, 409), ``reset`` brings the defaults back.

Reading on request paths: ``CachedConfig`` keeps what one Query returned for ``ttl_s`` seconds
per warm Lambda container, so the inbound processor does not pay a read per message; an edit
therefore takes effect within ``ttl_s`` (60 s) everywhere. A stored document that no longer
validates (a model changed under it) is skipped for its defaults and reported to
``on_invalid``: a bad document never stops tickets from being opened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from shared.config_ports import ConfigStore, StoredDocument
from shared.domain.errors import InvalidInput, NotFound
from shared.domain.intake import Playbook
from shared.domain.team_config import (
    MAX_DOCUMENT_BYTES,
    PRIORITY,
    QUALIFICATION,
    ROUTING,
    SLA,
    SPECS,
    ConfigSpec,
    Setting,
    TeamConfig,
)
from shared.ports import Clock

M = TypeVar("M", bound=BaseModel)

CONFIG_TTL_S = 60.0


def _setting(spec: ConfigSpec[M], stored: StoredDocument | None) -> Setting[M]:
    if stored is None:
        return Setting(value=spec.default, version=0, is_default=True)
    if stored.document is None:  # reset to the defaults
        return Setting(
            value=spec.default,
            version=stored.version,
            is_default=True,
            updated_at=stored.updated_at,
            updated_by=stored.updated_by,
        )
    return Setting(
        value=spec.model.model_validate_json(stored.document),
        version=stored.version,
        is_default=False,
        updated_at=stored.updated_at,
        updated_by=stored.updated_by,
    )


def read(store: ConfigStore, spec: ConfigSpec[M]) -> Setting[M]:
    """The document in force and its version (0 when none was ever stored)."""
    return _setting(spec, store.get(spec.kind))


def save(
    store: ConfigStore, clock: Clock, spec: ConfigSpec[M], value: M, expected_version: int, *, by: str
) -> Setting[M]:
    """Store ``value`` as the next version if the stored one is still ``expected_version``."""
    document = value.model_dump_json()  # None is meaningful (e.g. no fallback type): kept
    if len(document.encode()) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(
            [{"field": "body", "message": f"the {spec.label} exceed {MAX_DOCUMENT_BYTES // 1000} KB as JSON"}]
        )
    stored = store.write(spec.kind, document, expected_version, by, clock.now())
    return Setting(
        value=value, version=stored.version, is_default=False, updated_at=stored.updated_at, updated_by=by
    )


def reset(
    store: ConfigStore, clock: Clock, spec: ConfigSpec[M], expected_version: int | None, *, by: str
) -> Setting[M]:
    """Back to the defaults (a new version without a document). Without ``expected_version``
    whatever is stored is reset; resetting what is already the default writes nothing."""
    if expected_version is None:
        current = store.get(spec.kind)
        if current is None or current.document is None:
            return _setting(spec, current)
        expected_version = current.version
    stored = store.write(spec.kind, None, expected_version, by, clock.now())
    return _setting(spec, stored)


def history(store: ConfigStore, kind: str, limit: int) -> list[StoredDocument]:
    """Who changed a document, when, and what it said (newest first): what to restore from."""
    if kind not in {spec.kind for spec in SPECS}:
        raise NotFound("configuration document", kind)
    return store.history(kind, limit)


def load(store: ConfigStore, on_invalid: Callable[[str, str], None] | None = None) -> TeamConfig:
    """Every document in force (one read), defaults for those not stored or not valid."""
    by_kind = {stored.kind: stored for stored in store.current()}

    def value(spec: ConfigSpec[M]) -> M:
        try:
            return _setting(spec, by_kind.get(spec.kind)).value
        except ValidationError as error:
            if on_invalid is not None:
                on_invalid(spec.kind, f"{error.error_count()} validation errors: defaults used")
            return spec.default

    return TeamConfig(
        qualification=value(QUALIFICATION),
        priority=value(PRIORITY),
        sla=value(SLA),
        routing=value(ROUTING),
    )


class CachedConfig:
    """``load`` at most once per ``ttl_s`` seconds of ``monotonic`` time (injectable for tests)."""

    def __init__(
        self,
        loader: Callable[[], TeamConfig],
        ttl_s: float = CONFIG_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._value: TeamConfig | None = None
        self._playbook: Playbook | None = None
        self._loaded_at = 0.0

    def current(self) -> TeamConfig:
        now = self._monotonic()
        if self._value is None or now - self._loaded_at >= self._ttl_s:
            self._value = self._loader()
            self._playbook = None
            self._loaded_at = now
        return self._value

    def playbook(self) -> Playbook:
        config = self.current()
        if self._playbook is None:
            self._playbook = config.playbook()
        return self._playbook

    def invalidate(self) -> None:
        """The next read loads again (after an edit made by this same container)."""
        self._value = None
