"""Domain errors. The API and the pages map each to a 4xx with its message."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses, with a message a person can act on."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    status_code = 422


class NotFound(DomainError):
    status_code = 404


class PermissionDenied(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class TransitionNotAllowed(Conflict):
    def __init__(self, *, subject: str, from_state: str, to_state: str) -> None:
        super().__init__(f"{subject} cannot move from '{from_state}' to '{to_state}'")
        self.from_state = from_state
        self.to_state = to_state
