"""The one exception tree: each error knows its HTTP status and its NH error text.

Function adapters catch :class:`HeraldError` and render it as an NH-format error body; anything
else is a logged 500 that has written nothing partial.
"""

from __future__ import annotations


class HeraldError(Exception):
    """Root of every error Herald raises on purpose."""

    status: int = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequestError(HeraldError):
    """The request is malformed or fails validation (400)."""

    status = 400


class UnauthorizedError(HeraldError):
    """No valid SAS token or user token (401)."""

    status = 401


class ForbiddenError(HeraldError):
    """The token is valid but lacks the right for this operation (403)."""

    status = 403


class NotFoundError(HeraldError):
    """The hub, installation or notification does not exist (404)."""

    status = 404


class ConflictError(HeraldError):
    """The write lost a race it cannot resolve by retrying (409)."""

    status = 409


class PreconditionFailedError(HeraldError):
    """An ``If-Match`` ETag that the stored version no longer has (412)."""

    status = 412


class PayloadTooLargeError(HeraldError):
    """The request body or a rendered payload is over its limit (413)."""

    status = 413


class ConfigurationError(HeraldError):
    """A setting is missing or malformed; raised at startup, naming the setting."""

    status = 500


class StorageUnavailableError(HeraldError):
    """Azure Storage could not be reached or answered with a server error (503)."""

    status = 503


class IdentityProviderUnavailableError(HeraldError):
    """A trusted token issuer's signing keys could not be read, and none are held (503)."""

    status = 503
