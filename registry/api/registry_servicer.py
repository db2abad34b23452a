"""RegistryService: requests converted to catalog calls, answers converted back, plus the
ownership check auth leaves to servicers (a service registers and deregisters only its own
instances; see registry/auth/policy.py).

Watch streams a start (a snapshot in chunks, a replay of missed events, or a PROGRESS saying
"nothing missed"), then EVENTS as changes arrive, and PROGRESS when the watched services have
been quiet for the progress interval. Every response's `revision` is a safe resume point: all
changes to the watched services up to it have been sent.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, TypeVar

import grpc

from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc
from registry.api import convert, graph_convert
from registry.api.lookup_answers import LookupAnswers, unfiltered
from registry.auth import current_identity, require_service
from registry.core import validation
from registry.core.catalog import Catalog
from registry.core.errors import InvalidArgument
from registry.core.graph import DependencyGraph
from registry.core.limits import LIMITS
from registry.core.model import Change, Instance
from registry.core.watch import WatchStart, approximate_bytes
from registry.wire.binding import ServiceBinding
from registry.wire.preencoded import add_preencoded
from registry.wire.status import maps_domain_errors

Context = grpc.aio.ServicerContext[Any, Any]

STALE = (("registry-catalog-stale", "true"),)
"""Metadata on reads from a cluster replica that cannot reach etcd: the catalog may be behind."""

REGISTRY_SERVICE_NAME = pb.DESCRIPTOR.services_by_name["RegistryService"].full_name
_STARTED = WatchStart(0, None, ())
"""What a watcher keeps of its start once the opening responses are out: nothing."""
T = TypeVar("T")


def _slices(items: Sequence[T], size_of: Callable[[T], int]) -> Iterator[Sequence[T]]:
    """`items` cut into response-sized runs (by count and approximate encoded bytes); always at
    least one, possibly empty, run. Slices hold references only: nothing is encoded yet."""
    start = size = 0
    for index, item in enumerate(items):
        item_size = size_of(item)
        if index > start and (
            index - start >= LIMITS.watch_response_events or size + item_size > LIMITS.watch_response_bytes
        ):
            yield items[start:index]
            start, size = index, 0
        size += item_size
    yield items[start:]


def _change_bytes(change: Change) -> int:
    return approximate_bytes(change.instance)


def _progress(revision: int) -> pb.WatchResponse:
    return pb.WatchResponse(kind=pb.WATCH_RESPONSE_KIND_PROGRESS, revision=revision)


@maps_domain_errors
class RegistryServicer(pb_grpc.RegistryServiceServicer):
    def __init__(self, catalog: Catalog, graph: DependencyGraph) -> None:
        self._catalog = catalog
        self._graph = graph
        self._encoder = convert.InstanceEncoder()
        catalog.add_listener(self._encoder.forget)
        self._answers = LookupAnswers(catalog, self._encoder)

    def binding(self) -> ServiceBinding:
        return ServiceBinding(
            full_name=REGISTRY_SERVICE_NAME,
            # Register and Lookup answer with cached bytes; Watch yields serialized responses, so
            # a stalled watcher holds bytes, not messages.
            add=functools.partial(
                add_preencoded,
                pb_grpc.add_RegistryServiceServicer_to_server,
                self,
                REGISTRY_SERVICE_NAME,
                ["Register", "Lookup", "Watch"],
            ),
        )

    def _say_if_stale(self, context: Context) -> None:
        """Cluster mode: a replica that has lost etcd answers reads from the catalog it last saw,
        and says so in the trailing metadata (docs/cluster.md)."""
        if self._catalog.possibly_stale:
            context.set_trailing_metadata(STALE)

    async def Register(  # type: ignore[override]
        self, request: pb.RegisterRequest, context: Context
    ) -> bytes:
        """A serialized RegisterResponse: the instance's cached bytes (see `binding`)."""
        if not request.HasField("instance"):
            raise InvalidArgument("instance", "required")
        caller = current_identity()
        require_service(caller, request.instance.service_name)
        instance, created = await self._catalog.register(
            convert.registration(request.instance), caller.service
        )
        live = self._catalog.find(instance.key) is instance
        return self._encoder.register_bytes(instance, created, live)

    async def Deregister(self, request: pb.DeregisterRequest, context: Context) -> pb.DeregisterResponse:
        require_service(current_identity(), request.service_name)
        key = validation.instance_key(request.service_name, request.instance_id)
        return pb.DeregisterResponse(revision=await self._catalog.deregister(key))

    async def GetInstance(self, request: pb.GetInstanceRequest, context: Context) -> pb.GetInstanceResponse:
        key = validation.instance_key(request.service_name, request.instance_id)
        self._say_if_stale(context)
        return self._encoder.get_response(self._catalog.get(key))

    async def ListServices(
        self, request: pb.ListServicesRequest, context: Context
    ) -> pb.ListServicesResponse:
        page = self._catalog.list_services(request.page_size, request.page_token)
        self._say_if_stale(context)
        return pb.ListServicesResponse(
            services=[
                pb.ServiceSummary(
                    service_name=s.service_name,
                    instance_count=s.instance_count,
                    serving_count=s.serving_count,
                )
                for s in page.items
            ],
            next_page_token=page.next_page_token,
            revision=page.revision,
        )

    async def ListInstances(
        self, request: pb.ListInstancesRequest, context: Context
    ) -> pb.ListInstancesResponse:
        page = self._catalog.list_instances(request.service_name, request.page_size, request.page_token)
        self._say_if_stale(context)
        return self._encoder.list_instances_response(page.items, page.next_page_token, page.revision)

    async def Lookup(  # type: ignore[override]
        self, request: pb.LookupRequest, context: Context
    ) -> bytes:
        """A serialized LookupResponse: served pre-encoded (see `registry.wire.preencoded`), and
        for a request with no filter, from the answers kept until the catalog changes."""
        if unfiltered(request):
            answer = self._answers.serving(request.service_name)
        else:
            instances, revision = self._catalog.lookup(convert.lookup_query(request))
            answer = self._encoder.lookup_bytes(instances, revision)
        self._say_if_stale(context)
        return answer

    async def GetDependencyGraph(
        self, request: pb.GetDependencyGraphRequest, context: Context
    ) -> pb.GetDependencyGraphResponse:
        graph = self._graph.get(graph_convert.graph_query(request))
        return pb.GetDependencyGraphResponse(graph=graph_convert.graph_message(graph))

    async def Watch(  # type: ignore[override]
        self, request: pb.WatchRequest, context: Context
    ) -> AsyncIterator[bytes]:
        """Serialized WatchResponses (see `binding`): each is encoded as soon as it is built and
        only its bytes wait while the client does not read."""
        services = validation.watched_services(request.service_names)
        interval = validation.progress_interval(request.progress_interval_ms)
        watcher = self._catalog.watch(services, request.after_revision, current_identity().service)
        if self._catalog.possibly_stale:
            await context.send_initial_metadata(STALE)
        try:
            start, watcher.start = watcher.start, _STARTED  # the snapshot is not kept beyond sending
            for data in self._opening(start):
                yield data
            del start
            async for batch in watcher.batches(interval):
                if batch:
                    for data in self._events(batch, watcher.revision):
                        yield data
                else:
                    yield _progress(watcher.revision).SerializeToString()
        finally:
            watcher.close()

    def _opening(self, start: WatchStart) -> Iterator[bytes]:
        if start.snapshot is not None:
            yield from self._snapshot(start.snapshot, start.revision, start.compact_revision)
        elif start.replay:
            yield from self._events(start.replay, start.revision)
        else:
            yield _progress(start.revision).SerializeToString()  # resumed with nothing missed: live

    def _snapshot(
        self, instances: Sequence[Instance], revision: int, compact_revision: int
    ) -> Iterator[bytes]:
        """SNAPSHOT responses; all but the last say `snapshot_continues`, the first carries
        `compact_revision` when set."""
        runs = list(_slices(instances, approximate_bytes))
        for index, run in enumerate(runs):
            yield pb.WatchResponse(
                kind=pb.WATCH_RESPONSE_KIND_SNAPSHOT,
                events=[self._encoder.snapshot_event(instance) for instance in run],
                revision=revision,
                compact_revision=compact_revision if index == 0 else 0,
                snapshot_continues=index < len(runs) - 1,
            ).SerializeToString()

    def _events(self, changes: Sequence[Change], revision: int) -> Iterator[bytes]:
        """EVENTS responses; the last carries `revision`, earlier ones their last event's."""
        runs = list(_slices(changes, _change_bytes))
        for index, run in enumerate(runs):
            last = index == len(runs) - 1
            yield pb.WatchResponse(
                kind=pb.WATCH_RESPONSE_KIND_EVENTS,
                events=[self._encoder.watch_event(change) for change in run],
                revision=revision if last else run[-1].revision,
            ).SerializeToString()
