"""Errors the domain raises. Each names the field and the rule, never a stack of prose."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One broken rule: `field` is a dotted path (``establishment.siret``), `rule` a stable code."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.rule}]"


class DomainError(Exception):
    """Base of every error a use case can raise on purpose."""


class InvalidInput(DomainError):
    """Input that breaks one or more rules; nothing was written."""

    def __init__(self, errors: list[FieldError], source: str | None = None) -> None:
        self.errors = list(errors)
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(prefix + "; ".join(str(e) for e in self.errors))


class NotFound(DomainError):
    """An object that does not exist, or that the caller may not see."""


class Conflict(DomainError):
    """A concurrent change won, an idempotency key was reused for another request, or the state
    forbids the action."""


class ProductError(DomainError):
    """A product or model file that breaks a rule: names the file, the field and the rule."""

    def __init__(self, path: str, field: str, rule: str) -> None:
        self.path, self.field, self.rule = path, field, rule
        super().__init__(f"{path}: {field}: {rule}")


class UnreadableRows(DomainError):
    """Stored rows whose values cannot be read back (altered outside Égide): table and ids."""

    def __init__(self, table: str, ids: list[int]) -> None:
        self.table, self.ids = table, list(ids)
        super().__init__(f"{table}: rows {', '.join(map(str, ids))} cannot be read")


class NotAllowed(DomainError):
    """An action on a visible object that the acting principal may not take."""


class NotAuthenticated(DomainError):
    """No valid credentials: a missing, unknown or expired token, or one whose API client was
    revoked or whose user was disabled. The message never says which."""
