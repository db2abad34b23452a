"""What a Registration counts and remembers about its heartbeat connection.

Kept apart from the reconnect loop (client/registration.py) and the stream itself
(client/heartbeat_stream.py), which both write here; users read it as `registration.stats` and
`registration.events`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MAX_EVENTS = 256
"""Connection events kept per registration (oldest dropped first)."""


class EventKind(enum.Enum):
    ATTEMPT = "attempt"
    """A heartbeat stream is being opened."""
    BOUND = "bound"
    FAILED = "failed"
    ROTATED = "rotated"
    """The stream was replaced before its token expired."""
    REGISTERED = "registered"
    DIRECTIVE = "directive"


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """Something that happened to the heartbeat connection; `at` is `time.monotonic()`.

    On FAILED events `delay` is the backoff the SDK drew before its next attempt (0.0 when it
    retries at once), so the jitter can be checked apart from how late the event loop ran.
    """

    at: float
    kind: EventKind
    detail: str = ""
    delay: float | None = None


@dataclass(slots=True)
class RegistrationStats:
    attempts: int = 0
    binds: int = 0
    registrations: int = 0
    rotations: int = 0
    failures: int = 0
    beats: int = 0
    acks: int = 0
