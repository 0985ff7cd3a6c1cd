"""What every sender shares besides its credentials: trust, limits, timeouts, the clock.

Built once from :class:`shared.config.Settings` and handed to each sender by the registry.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.config import Settings


@dataclass(frozen=True)
class PnsOptions:
    ca_file: str | None = None  # extra trusted CA bundle (simulators), besides the system roots
    allowed_test_hosts: tuple[str, ...] = ()  # simulator origins device URLs may name
    request_timeout: float = 10.0  # seconds for one PNS request, from submit to answer
    connect_timeout: float = 10.0  # seconds for TCP + TLS + the server's first SETTINGS
    max_in_flight: int = 1000  # requests one sender has outstanding at once
    max_connections: int = 4  # HTTP/2 connections per endpoint
    # HTTP/1.1 services (WNS, Web Push, ADM): connections per sender, and as many requests in
    # flight; the rest wait in the sender's semaphore, not in the connection pool's queue.
    http1_connections: int = 32
    # Streams per HTTP/2 connection before the pool opens another; one connection with many
    # streams falls into a send/receive lockstep (h2-limits.md), two overlap.
    streams_per_connection: int = 500
    clock: Callable[[], float] = field(default=time.time, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> PnsOptions:
        return cls(ca_file=settings.pns_ca_file, allowed_test_hosts=settings.pns_allowed_test_hosts)

    def ssl_context(self, *, alpn_h2: bool = False) -> ssl.SSLContext:
        """A verifying client context: system roots plus ``ca_file``; ALPN ``h2`` if asked."""
        context = ssl.create_default_context()
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        if alpn_h2:
            context.set_alpn_protocols(["h2"])
        return context
