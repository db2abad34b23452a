"""The answer to an unfiltered Lookup (a service's serving instances, nothing else asked), encoded
once per service and catalog revision.

Most lookups name a service and nothing more, and most of the time nothing has changed since the
last one: such a call is then one dictionary lookup for bytes grpc sends as they are (see
`registry.wire.preencoded`). Any change to the catalog moves its revision, which every answer
carries, so all answers are dropped at once on the next lookup after a change and rebuilt on
demand; this costs no more than answering without the cache. Only answers naming instances are
kept, so made-up service names cannot grow the table: it holds at most one entry per service that
has serving instances.
"""

from __future__ import annotations

from generated.registry.v1 import registry_service_pb2 as pb
from registry.api.convert import InstanceEncoder
from registry.core.catalog import Catalog
from registry.core.lookup import LookupQuery

_SERVICE_NAME = pb.LookupRequest.DESCRIPTOR.fields_by_name["service_name"]


def unfiltered(request: pb.LookupRequest) -> bool:
    """Whether `request` sets nothing but `service_name` (derived from the message, so a filter
    added to LookupRequest later is never ignored here)."""
    return all(field is _SERVICE_NAME for field, _ in request.ListFields())


class LookupAnswers:
    """Encoded unfiltered answers by service name, valid for one catalog revision."""

    __slots__ = ("_answers", "_catalog", "_encoder", "_revision")

    def __init__(self, catalog: Catalog, encoder: InstanceEncoder) -> None:
        self._catalog = catalog
        self._encoder = encoder
        self._revision = -1
        self._answers: dict[str, bytes] = {}

    def __len__(self) -> int:
        return len(self._answers)

    def serving(self, service_name: str) -> bytes:
        """A serialized LookupResponse: the serving instances of `service_name` and the revision."""
        catalog = self._catalog
        if catalog.revision != self._revision:
            self._answers = {}
            self._revision = catalog.revision
        answer = self._answers.get(service_name)
        if answer is None:
            instances, revision = catalog.lookup(LookupQuery(service_name))  # validates the name
            answer = self._encoder.lookup_bytes(instances, revision)
            if instances:
                self._answers[service_name] = answer
        return answer
