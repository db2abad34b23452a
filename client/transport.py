"""What every part of the client shares: settings, tokens, the registry channel and its stubs.

One object passed to registration, discovery and messaging instead of four, and the one place that
knows how long a stream may stay open: until its token is due for refresh, and never longer than
`max_stream_age`. Streams are reopened at that point (heartbeat: bind with take_over; watch and
subscribe: resume after the last revision or sequence), so no stream ever outlives its token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from client._proto import heartbeat_grpc, registry_grpc, relay_grpc
from client.config import ClientConfig
from client.tokens import TokenSource


@dataclass(eq=False)
class Transport:
    config: ClientConfig
    tokens: TokenSource
    channel: grpc.aio.Channel
    wall_clock: Callable[[], float] = time.time
    registry: registry_grpc.RegistryServiceAsyncStub = field(init=False)
    heartbeat: heartbeat_grpc.HeartbeatServiceAsyncStub = field(init=False)
    relay: relay_grpc.RelayServiceAsyncStub = field(init=False)

    def __post_init__(self) -> None:
        self.registry = registry_grpc.RegistryServiceStub(self.channel)
        self.heartbeat = heartbeat_grpc.HeartbeatServiceStub(self.channel)
        self.relay = relay_grpc.RelayServiceStub(self.channel)

    @property
    def call_timeout(self) -> float:
        """Deadline of every unary call."""
        return self.config.call_timeout

    def stream_lifetime(self) -> float:
        """Seconds a stream opened now may live before it must be reopened with a fresh token.

        A token within half a refresh margin of its refresh point is replaced first: a rotation
        timer that fires a hair early must not open a stream that is due again at once and whose
        backstop deadline leaves no time to bind.
        """
        lifetime = self.config.max_stream_age
        refresh_at = self.tokens.current(ahead=self.config.refresh_margin / 2).refresh_at
        if refresh_at is not None:
            lifetime = min(lifetime, refresh_at - self.wall_clock())
        return max(lifetime, 0.0)

    def stream_deadline(self, lifetime: float) -> float:
        """The gRPC deadline of a stream: its lifetime plus half the refresh margin as a backstop, so
        even a stream whose owner failed to rotate it ends before its token expires."""
        return lifetime + self.config.refresh_margin / 2
