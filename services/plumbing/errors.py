"""Domain errors shared by every service; mapped to gRPC status codes only at the edge."""


class DomainError(Exception):
    """A request the domain refuses; the message is safe to show to the caller."""


class InvalidArgument(DomainError):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class FailedPrecondition(DomainError):
    """The request is well formed but the state forbids it; `field`, when given, names the field whose
    value meets the obstacle (an inactive agency, a rule that already exists) so a form can show it there."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.field = field


class Unauthenticated(DomainError):
    pass


class ResourceExhausted(DomainError):
    """Too many attempts (e.g. failed sign-ins): refused for a while."""


class Unavailable(DomainError):
    """Not now, but the same request may succeed later: callers retry."""
