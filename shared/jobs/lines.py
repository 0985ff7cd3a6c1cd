"""An import file read block by block: lines with their numbers, from byte ranges (sans-IO).

NH's import file holds one registration description per line. A step reads ranges of the
file from its cursor (:class:`Cursor`), and :func:`take_lines` cuts whole lines out of each:
a line cut off by the range's end is left for the next read, so a step's block of lines is
the same whenever it is run again. Lines are numbered from 1 counting every line, blank ones
too, so the numbers in the output and failure files are the file's own; blank lines are
skipped, a ``\\r`` before the ``\\n`` and a UTF-8 byte order mark are dropped. A line longer
than ``max_line_bytes`` is never held in memory: it is skipped to its end (over as many reads
as that takes, the cursor saying so) and reported as too long.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from shared.jobs.model import Cursor

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Line:
    number: int
    text: bytes  # without its line end; empty when too_long
    too_long: bool = False


def take_lines(
    chunk: bytes, cursor: Cursor, *, at_end: bool, max_lines: int, max_line_bytes: int
) -> tuple[list[Line], Cursor]:
    """The whole lines of ``chunk`` (the file's bytes from ``cursor.offset``), at most
    ``max_lines``, and the cursor after them. ``at_end``: the chunk runs to the file's end."""
    lines: list[Line] = []
    offset, number, skipping = cursor.offset, cursor.line, cursor.skipping
    start = 0
    while len(lines) < max_lines and start < len(chunk):
        end = chunk.find(b"\n", start)
        last = end < 0
        if last and not at_end and not skipping and len(chunk) - start <= max_line_bytes:
            break  # a line the next read completes
        stop = len(chunk) if last else end
        consumed = stop - start + (0 if last else 1)
        if skipping or stop - start > max_line_bytes:
            skipping = last and not at_end  # the line goes on past this chunk
            if not skipping:
                number += 1
                lines.append(Line(number, b"", too_long=True))
        else:
            number += 1
            text = chunk[start:stop].removesuffix(b"\r")
            if offset + start == 0:
                text = text.removeprefix(_BOM)
            if text.strip():
                lines.append(Line(number, text))
        start += consumed
    return lines, Cursor(offset + start, number, skipping)


def job_registration_id(job_id: str, line: int) -> str:
    """The id a create job gives the registration of ``line``: NH's shape
    (``{63 bits}-{63 bits}-1``), and the same each time the line is applied, so applying it
    again after a step was cut short finds its own registration instead of adding one."""
    digest = hashlib.sha256(f"{job_id}:{line}".encode()).digest()
    high = int.from_bytes(digest[:8], "big") >> 1
    low = int.from_bytes(digest[8:16], "big") >> 1
    return f"{high}-{low}-1"


_CDATA = re.compile(r"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)


def one_line(xml: str) -> str:
    """``xml`` with its line ends written as character references, so that it takes one
    line of a job file and parses back to the same text: inside CDATA (where references are
    not read) the section is closed around the reference."""
    parts = _CDATA.split(xml)
    for n, part in enumerate(parts):
        if n % 2:  # a CDATA section
            inner = part[len("<![CDATA[") : -len("]]>")]
            inner = inner.replace("\r", "]]>&#13;<![CDATA[").replace("\n", "]]>&#10;<![CDATA[")
            parts[n] = f"<![CDATA[{inner}]]>"
        else:
            parts[n] = part.replace("\r", "&#13;").replace("\n", "&#10;")
    return "".join(parts)
