"""Field validators shared by installations and JSON Patch: ids, tags, user ids, dates, JSON text.

Every validator takes an arbitrary JSON value (``object``) and either answers the typed value or
raises :class:`BadRequestError` with NH's "Installation validation failed" wording; nothing else
escapes, whatever the input.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from shared.errors import BadRequestError

NH_MAX_TAGS = 60
MAX_TAG_LENGTH = 120
MAX_INSTALLATION_ID_LENGTH = 256
MAX_USER_ID_LENGTH = 120
MAX_NAME_LENGTH = 120
NEVER_EXPIRES = "9999-12-31T23:59:59.9999999Z"

_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]+")
_TAG_PATTERN = re.compile(r"[A-Za-z0-9_@#.:-]+")
_USER_ID_PATTERN = re.compile(r"[A-Za-z0-9_@#.:=-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")

_MAX_DATE_LENGTH = 64
# Any instant in the last second of year 9999 is .NET's DateTime.MaxValue: "never".
_NEVER_FROM = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
# Earlier dates are surely mistakes, and Table storage cannot hold dates before 1601.
_EARLIEST_EXPIRATION = datetime(1970, 1, 1, tzinfo=UTC)


INSTALLATION_ERROR = "Installation validation failed with following error(s): "


def installation_error(detail: str) -> BadRequestError:
    return BadRequestError(INSTALLATION_ERROR + detail)


def show(text: str) -> str:
    """A string quoted for an error message, cut short: input can be 64 KB."""
    return repr(text if len(text) <= 80 else text[:77] + "...")


def json_type(value: object) -> str:
    """The JSON name of a value's type, for error messages."""
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), "a value")


def require_str(value: object, field: str) -> str:
    """A string that UTF-8 can carry (JSON's ``\\ud800`` escapes give ones it cannot)."""
    if not isinstance(value, str):
        raise installation_error(f"{field} must be a string, not {json_type(value)}.")
    if not value.isascii() and _SURROGATE.search(value):
        raise installation_error(f"{field} contains an unpaired UTF-16 surrogate.")
    return value


def is_installation_id(text: str) -> bool:
    return 0 < len(text) <= MAX_INSTALLATION_ID_LENGTH and bool(_ID_PATTERN.fullmatch(text))


def is_user_id(text: str) -> bool:
    return 0 < len(text) <= MAX_USER_ID_LENGTH and bool(_USER_ID_PATTERN.fullmatch(text))


def validate_installation_id(value: object, field: str = "installationId") -> str:
    """Letters, digits, ``.``, ``-`` and ``_`` only: the id travels unencoded in the URL path."""
    text = require_str(value, field)
    if not text:
        raise installation_error(f"{field} must not be empty.")
    if len(text) > MAX_INSTALLATION_ID_LENGTH:
        raise installation_error(f"{field} is longer than {MAX_INSTALLATION_ID_LENGTH} characters.")
    if not _ID_PATTERN.fullmatch(text):
        raise installation_error(
            f"{field} {show(text)} is invalid. Entity segments can contain only letters, "
            "numbers, periods (.), hyphens (-), and underscores (_)."
        )
    return text


def validate_tag(value: object) -> str:
    """A client tag: 1-120 of ``[A-Za-z0-9_@#.:-]``; ``$`` (system tags) is never accepted."""
    text = require_str(value, "A tag")
    if not text or len(text) > MAX_TAG_LENGTH or not _TAG_PATTERN.fullmatch(text):
        raise installation_error(
            f"An invalid tag(s) {show(text)} was supplied. Valid tag characters are "
            f"alphanumeric, _, @, -, ., : and #, up to {MAX_TAG_LENGTH} characters."
        )
    return text


def validate_tags(value: object, *, field: str = "tags") -> tuple[str, ...]:
    """A JSON array of tags, de-duplicated and sorted (tags are a set); null means none."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise installation_error(f"{field} must be an array of strings.")
    return tuple(sorted({validate_tag(tag) for tag in value}))


def check_tag_count(tags: Iterable[str], *, max_tags: int, where: str) -> None:
    count = len(set(tags))
    if count > max_tags:
        raise installation_error(f"{where} has {count} tags; at most {max_tags} are allowed.")


def validate_user_id(value: object) -> str | None:
    """Alphanumerics and ``-_@#.:=``, as NH documents; null or absent means no user."""
    if value is None:
        return None
    text = require_str(value, "userId")
    if not text or len(text) > MAX_USER_ID_LENGTH or not _USER_ID_PATTERN.fullmatch(text):
        raise installation_error(
            f"userId {show(text)} is invalid. It must be 1 to {MAX_USER_ID_LENGTH} "
            "alphanumeric characters or -, _, @, #, ., : and =."
        )
    return text


def validate_name(value: object, field: str) -> str:
    """A template or push-variable name: 1-120 characters, no control characters."""
    text = require_str(value, field)
    if not text or len(text) > MAX_NAME_LENGTH or _CONTROL.search(text):
        raise installation_error(
            f"{field} {show(text)} must be 1 to {MAX_NAME_LENGTH} characters "
            "without control characters."
        )
    return text


def parse_datetime(value: object, field: str) -> datetime | None:
    """An ISO 8601 date-time in UTC; no zone means UTC (as .NET and Java send); null is None."""
    if value is None:
        return None
    text = require_str(value, field)
    try:
        if len(text) > _MAX_DATE_LENGTH:
            raise ValueError(text)
        parsed = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise installation_error(f"{field} {show(text)} is not an ISO 8601 date-time.") from error
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # an offset that moves year 1 or 9999 out of range
        raise installation_error(f"{field} {show(text)} is out of range.") from None


def parse_expiration(value: object, field: str = "expirationTime") -> datetime | None:
    """Like :func:`parse_datetime`, but .NET's max date (and null) both mean "never" (None)."""
    parsed = parse_datetime(value, field)
    if parsed is not None and parsed < _EARLIEST_EXPIRATION:
        raise installation_error(f"{field} must not be before 1970.")
    return None if parsed is None or parsed >= _NEVER_FROM else parsed


def format_datetime(value: datetime) -> str:
    """UTC with seven fractional digits and ``Z``, the way NH writes dates."""
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}0Z"
    )


def decode_json_text(text: str, field: str) -> object:
    """JSON inside a JSON string (the .NET SDK's habit), with any decoding failure a 400."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise installation_error(f"{field} is not valid JSON.") from error


def content_hash(wire: dict[str, object], *, unhashed: tuple[str, ...]) -> str:
    """SHA-256 of a document's canonical JSON without its ``unhashed`` members (timestamps):
    equal content, equal hash, so an unchanged re-registration writes nothing."""
    kept = {key: value for key, value in wire.items() if key not in unhashed}
    canonical = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
