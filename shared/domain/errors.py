"""Domain errors: raised by services and adapters, mapped to HTTP or retries in one place."""


class DomainError(Exception):
    """Base class of every error the domain raises on purpose."""


class NotFound(DomainError):
    def __init__(self, kind: str, identifier: str) -> None:
        super().__init__(f"{kind} {identifier} not found")
        self.kind = kind
        self.identifier = identifier


class Conflict(DomainError):
    """A conditional write lost a race or an invariant would break; the caller may retry."""


class StaleWrite(Conflict):
    """A guarded write lost to a concurrent one: re-read and decide again (unlike a Conflict a
    rule raises, which re-reading does not change)."""


class IdentityTaken(Conflict):
    """An identifier the write tried to claim already belongs to a profile."""

    def __init__(self, identities: list[tuple[str, str]]) -> None:
        super().__init__("identifier already owned: " + ", ".join(f"{k}:{v}" for k, v in identities))
        self.identities = identities


class NotAllowed(DomainError):
    """The caller is known but may not do this (e.g. a technician reporting on another's visit)."""


class AtCapacity(DomainError):
    """The agent already works as many tickets as their capacity allows."""


class Duplicate(DomainError):
    """The same delivery was already processed (idempotency key already recorded)."""

    def __init__(self, dedup_key: str) -> None:
        super().__init__(f"already processed: {dedup_key}")
        self.dedup_key = dedup_key


class InvalidInput(DomainError):
    """Input that parsed but breaks a business rule; ``errors`` names each bad field."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


class InvalidCursor(DomainError):
    """A pagination cursor that was not issued by us or is corrupt."""


class Unprocessable(InvalidInput):
    """Well-formed input naming something that does not exist, e.g. an unknown agent as a
    ticket's collaborator (422: the request cannot be carried out as written)."""
