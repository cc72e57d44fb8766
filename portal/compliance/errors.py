"""What the compliance services refuse with (portal.errors.DomainError underneath)."""

from portal.errors import DomainError


class OrderInvalid(DomainError):
    """An order or opt-out that cannot be filed as given (names the field at fault)."""


class OrderStateError(DomainError):
    """The order or opt-out is not in the state the action needs (e.g. activating a verified order)."""

    code = "conflict"
    status = 409
