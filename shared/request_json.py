"""JSON that a client sent, parsed the same strict way for every request body.

Python's json module takes what other parsers refuse and fails in ways no request may see:
``NaN`` and ``Infinity``, numbers that overflow to infinity, integers over 4,300 digits
(a ``ValueError`` that is not a ``JSONDecodeError``), lone UTF-16 surrogates (``"\\ud800"``)
that no encoder writes back, and nesting deep enough to exhaust the stack. Each is a
:class:`BadRequestError` here, before anything is stored or queued.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

from shared.errors import BadRequestError

# System.Text.Json's default; no NH body or push payload comes near it.
MAX_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_request_json(data: bytes | str, what: str, *, numbers_as_text: bool = False) -> Any:
    """The parsed value, or a 400 saying why ``what`` (``"The request body"``) is not JSON.

    With ``numbers_as_text`` every number is kept as the text written, unconverted.
    """
    number_as_text = str if numbers_as_text else None
    try:
        value = json.loads(
            data,
            parse_constant=_reject_constant,
            parse_int=number_as_text or _integer,
            parse_float=number_as_text or _finite_float,
        )
        _check_strings_and_depth(value)
    except RecursionError:
        raise BadRequestError(f"{what} is nested more than {MAX_DEPTH} levels deep.") from None
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError among them
        raise BadRequestError(f"{what} is not valid JSON: {_reason(error)}.") from None
    return value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def _integer(text: str) -> int:
    limit = sys.get_int_max_str_digits()
    if len(text.lstrip("-")) > limit:
        raise ValueError(f"a number has {len(text)} digits, more than {limit}")
    return int(text)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is out of range")
    return number


def _check_strings_and_depth(value: object) -> None:
    """Every string (keys too) is whole Unicode, and nothing nests deeper than MAX_DEPTH."""
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise ValueError("a string holds a lone UTF-16 surrogate")
            continue
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= MAX_DEPTH:
            raise RecursionError
        pending.extend((child, depth + 1) for child in children)


def _reason(error: ValueError) -> str:
    text = str(error).strip().rstrip(".")
    return text[:160] or type(error).__name__
