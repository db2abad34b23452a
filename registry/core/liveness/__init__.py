"""Liveness: every instance's status, fed by heartbeat streams, split by job.

- `rules`: the status rules as pure functions of times and counts;
- `pacing`, `binding`: one stream's hold on an instance (a binding) and its rate limit;
- `preservation`: self-preservation during mass failures;
- `health`: the read views (one instance, pages, the summary);
- `engine`: `Liveness`, which owns the states and schedules the checks;
- `values`: settings, directives, load reports, and the ports liveness needs.
"""

from registry.core.liveness.binding import Binding
from registry.core.liveness.engine import Liveness
from registry.core.liveness.values import (
    CatalogView,
    Directive,
    DirectiveType,
    GoodbyeReason,
    HealthSummary,
    InstanceHealth,
    LivenessSettings,
    Load,
    StatusCounts,
    StreamSink,
    make_load,
)

__all__ = [
    "Binding",
    "CatalogView",
    "Directive",
    "DirectiveType",
    "GoodbyeReason",
    "HealthSummary",
    "InstanceHealth",
    "Liveness",
    "LivenessSettings",
    "Load",
    "StatusCounts",
    "StreamSink",
    "make_load",
]
