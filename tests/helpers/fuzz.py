"""How hard the property-based tests try: a short, derandomized run in `make test`, a long random
one in `make fuzz`.

`make test` must not be flaky, so its runs are derandomized (the same examples every time, chosen
by hypothesis from the test's own source) and keep no example database. `make fuzz` sets
`REGISTRY_FUZZ=N`: every budget is multiplied by N and the examples are random, with the
database in `.hypothesis/` so a failure found once is replayed first next time.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FACTOR = int(os.environ.get("REGISTRY_FUZZ", "0") or 0)


def budget(examples: int) -> settings:
    """Settings for one property test that tries `examples` inputs in `make test`."""
    if FACTOR:
        return settings(
            max_examples=examples * FACTOR,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
