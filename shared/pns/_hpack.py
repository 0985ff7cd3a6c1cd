"""HPACK (RFC 7541) for the HTTP/2 client: header blocks out and in, with dynamic tables.

Both halves are written for a push sender's traffic. Requests repeat the same few fields (the
JWT, the topic) and differ in ``:path``: :class:`HeaderEncoder` caches each field's bytes.
Answers are a status and a fresh ``apns-id`` each: :class:`HeaderDecoder` decodes Huffman text
a byte at a time through a table built once from ``hpack``'s nibble table, which halves the
steps, and skips ``hpack``'s generic decoder. That decoder's per-field objects and logging,
with its Huffman steps, took about a third of the APNs sender's CPU (docs/performance.md).
"""

from __future__ import annotations

import functools

from hpack import NeverIndexedHeaderTuple
from hpack.huffman_table import HUFFMAN_TABLE
from hpack.table import HeaderTable

Header = tuple[bytes, bytes]


class HeaderDecodingError(ValueError):
    """A header block that breaks RFC 7541: the connection cannot go on (COMPRESSION_ERROR)."""


def path_header(path: bytes) -> Header:
    """``:path`` as a never-indexed literal: each device token is new, so indexing only churns."""
    return NeverIndexedHeaderTuple(b":path", path)


def _integer(value: int, prefix_bits: int, first: int) -> bytes:
    """An HPACK integer (RFC 7541, 5.1) whose first byte carries ``first`` above the prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = bytearray((first | limit,))
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(value: bytes) -> bytes:
    """An HPACK string literal, without Huffman: literals here are hex tokens and base64 JWTs,
    where Huffman saves a fifth of a few dozen bytes and costs more CPU than the rest."""
    return _integer(len(value), 7, 0) + value


_STATIC = HeaderTable.STATIC_TABLE
_STATIC_FIELDS = {field: index for index, field in reversed(list(enumerate(_STATIC, 1)))}
_STATIC_NAMES = {name: index for index, (name, _) in reversed(list(enumerate(_STATIC, 1)))}
_ENTRY_OVERHEAD = 32  # RFC 7541, 4.1


class HeaderEncoder:
    """HPACK encoding (RFC 7541) with the dynamic table, and a cache of each field's bytes.

    A repeated field (the JWT, the topic) is one index byte; :func:`path_header` fields go as
    never-indexed literals. A field's encoding stays valid until the table changes, which in
    steady sending it never does, so most fields cost one dictionary lookup.
    """

    def __init__(self) -> None:
        self._entries: list[Header] = []  # newest first: dynamic index 62 is entries[0]
        self._size = 0
        self.max_size = 4096  # the peer's SETTINGS_HEADER_TABLE_SIZE, at most our own default
        self._smallest: int | None = None  # the least size since the last block: to signal
        self._cache: dict[Header, bytes] = {}
        self._inserted = 0  # fields ever inserted: a field's index is 62 + inserted - its number
        self._numbers: dict[Header, int] = {}

    def resize(self, size: int) -> None:
        size = min(size, 4096)
        if size != self.max_size:
            self.max_size = size
            self._smallest = size if self._smallest is None else min(self._smallest, size)
            self._evict(0)

    def encode(self, headers: list[Header]) -> bytes:
        parts: list[bytes] = []
        if self._smallest is not None:  # RFC 7541, 4.2: the smallest size, then the final one
            if self._smallest < self.max_size:
                parts.append(_integer(self._smallest, 5, 0x20))
            parts.append(_integer(self.max_size, 5, 0x20))
            self._smallest = None
        cache = self._cache
        for header in headers:
            known = cache.get(header)
            if known is not None:
                parts.append(known)
            elif isinstance(header, NeverIndexedHeaderTuple):
                parts.append(self._literal(header, 0x10, 4))
            else:
                parts.append(self._indexed(header))
        return b"".join(parts)

    def _literal(self, header: Header, first: int, prefix_bits: int) -> bytes:
        name, value = header
        index = _STATIC_NAMES.get(name)
        if index is None:
            return bytes((first,)) + _string(name) + _string(value)
        return _integer(index, prefix_bits, first) + _string(value)

    def _indexed(self, header: Header) -> bytes:
        header = (header[0], header[1])
        static = _STATIC_FIELDS.get(header)
        if static is not None:
            encoded = _integer(static, 7, 0x80)
            self._cache[header] = encoded
            return encoded
        number = self._numbers.get(header)
        if number is not None:
            encoded = _integer(62 + self._inserted - number, 7, 0x80)
            self._cache[header] = encoded
            return encoded
        size = len(header[0]) + len(header[1]) + _ENTRY_OVERHEAD
        if size > self.max_size:
            return self._literal(header, 0x00, 4)  # too large to index: a plain literal
        encoded = self._literal(header, 0x40, 6)
        self._evict(size)
        self._inserted += 1
        self._entries.insert(0, header)
        self._numbers[header] = self._inserted
        self._size += size
        self._cache.clear()  # every dynamic index just moved by one
        return encoded

    def _evict(self, room: int) -> None:
        while self._entries and self._size + room > self.max_size:
            old = self._entries.pop()
            self._size -= len(old[0]) + len(old[1]) + _ENTRY_OVERHEAD
            if self._numbers.get(old) == self._inserted - len(self._entries):
                del self._numbers[old]
            self._cache.clear()


# --- decoding ---------------------------------------------------------------------------------
_MAX_INTEGER_BYTES = 5  # continuation bytes: enough for any length or index below 2**35

# hpack's Huffman table is a state machine over nibbles: entry state * 16 + nibble holds the
# next state, flags and the symbol it emits. Two nibbles make a byte, so one step per state and
# byte takes both at once: what it emits, and the state after (past 255: not a valid code).
_NIBBLE_COMPLETE, _NIBBLE_EMIT, _NIBBLE_FAIL = 1, 2, 4
_INVALID = 256


@functools.cache
def _huffman_steps() -> tuple[list[int], list[bytes], frozenset[int]]:
    """Next states and emitted bytes by ``state << 8 | byte``, and the states where a string
    may end (the rest of its last byte is EOS padding). Built on first use, in some 40 ms."""
    states: list[int] = []
    emitted: list[bytes] = []
    shared: dict[bytes, bytes] = {}  # one object per distinct output: the lists stay ~1 MB
    accepting = {0}
    for state in range(256):
        for byte in range(256):
            current, out = state, bytearray()
            for nibble in (byte >> 4, byte & 0x0F):
                current, flags, symbol = HUFFMAN_TABLE[current * 16 + nibble]
                if flags & _NIBBLE_FAIL:
                    current = _INVALID
                    break
                if flags & _NIBBLE_EMIT:
                    out.append(symbol)
                if flags & _NIBBLE_COMPLETE:
                    accepting.add(current)
            states.append(current)
            emitted.append(shared.setdefault(bytes(out), bytes(out)))
    return states, emitted, frozenset(accepting)


def huffman_decode(data: bytes) -> bytes:
    """The text Huffman-coded as ``data`` (RFC 7541, 5.2 and Appendix B)."""
    states, emitted, accepting = _huffman_steps()
    out = bytearray()
    state = 0
    for byte in data:
        step = state << 8 | byte
        state = states[step]
        if state == _INVALID:
            raise HeaderDecodingError("invalid Huffman code")
        out += emitted[step]
    if state not in accepting:
        raise HeaderDecodingError("a Huffman string that stops inside a code")
    return bytes(out)


def _read_integer(data: bytes, at: int, prefix_bits: int) -> tuple[int, int]:
    """The HPACK integer (RFC 7541, 5.1) starting at ``at``, and the offset after it."""
    limit = (1 << prefix_bits) - 1
    value = data[at] & limit
    at += 1
    if value < limit:
        return value, at
    for shift in range(0, 7 * _MAX_INTEGER_BYTES, 7):
        if at >= len(data):
            raise HeaderDecodingError("a header block that ends inside an integer")
        byte = data[at]
        at += 1
        value += (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
    raise HeaderDecodingError("an integer too large for a header block")


def _read_string(data: bytes, at: int) -> tuple[bytes, int]:
    if at >= len(data):
        raise HeaderDecodingError("a header block that ends before a string")
    huffman = data[at] & 0x80
    length, at = _read_integer(data, at, 7)
    end = at + length
    if end > len(data):
        raise HeaderDecodingError("a header block that ends inside a string")
    text = data[at:end]
    return (huffman_decode(text) if huffman else text), end


class HeaderDecoder:
    """HPACK decoding with the dynamic table, for one connection's answers, in order."""

    def __init__(self, max_size: int = 4096, max_list_size: int = 1 << 16) -> None:
        self._entries: list[Header] = []  # newest last: dynamic index 62 is entries[-1]
        self._size = 0
        self._max_size = max_size  # our SETTINGS_HEADER_TABLE_SIZE: the most the peer may set
        self._limit = max_size  # the size the peer's encoder chose
        self._max_list_size = max_list_size

    def decode(self, block: bytes) -> list[Header]:
        headers: list[Header] = []
        listed, at, end = 0, 0, len(block)
        while at < end:
            first = block[at]
            if first & 0x80:  # an indexed field
                index, at = _read_integer(block, at, 7)
                header = self._field(index)
            elif first & 0x40:  # a literal the table keeps
                header, at = self._literal(block, at, 6)
                self._insert(header)
            elif first & 0x20:  # a table size update, only before the first field
                if headers:
                    raise HeaderDecodingError("a table size update after a field")
                size, at = _read_integer(block, at, 5)
                if size > self._max_size:
                    raise HeaderDecodingError(f"a table size of {size} over {self._max_size}")
                self._limit = size
                self._evict(0)
                continue
            else:  # a literal not indexed, or never indexed
                header, at = self._literal(block, at, 4)
            headers.append(header)
            listed += len(header[0]) + len(header[1]) + _ENTRY_OVERHEAD
            if listed > self._max_list_size:
                raise HeaderDecodingError(f"a header list over {self._max_list_size} bytes")
        return headers

    def _field(self, index: int) -> Header:
        if 0 < index <= len(_STATIC):
            return _STATIC[index - 1]
        position = index - len(_STATIC)
        if index == 0 or position > len(self._entries):
            raise HeaderDecodingError(f"a header index ({index}) outside the tables")
        return self._entries[-position]

    def _literal(self, block: bytes, at: int, prefix_bits: int) -> tuple[Header, int]:
        index, at = _read_integer(block, at, prefix_bits)
        if index:
            name = self._field(index)[0]
        else:
            name, at = _read_string(block, at)
        value, at = _read_string(block, at)
        return (name, value), at

    def _insert(self, header: Header) -> None:
        size = len(header[0]) + len(header[1]) + _ENTRY_OVERHEAD
        self._evict(size)
        if size <= self._limit:  # a larger one empties the table and is not kept (4.4)
            self._entries.append(header)
            self._size += size

    def _evict(self, room: int) -> None:
        entries = self._entries
        while entries and self._size + room > self._limit:
            old = entries.pop(0)
            self._size -= len(old[0]) + len(old[1]) + _ENTRY_OVERHEAD
