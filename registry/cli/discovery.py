"""`registry ls`, `registry lookup NAME` and `registry watch [NAME ...]`."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import grpc

from generated.registry.v1 import instance_pb2, registry_service_pb2, registry_service_pb2_grpc
from registry.cli import common


def status_name(value: int) -> str:
    name = instance_pb2.HealthStatus.Name(value)  # type: ignore[arg-type]
    return name.removeprefix("HEALTH_STATUS_").lower()


def endpoints_text(instance: instance_pb2.Instance) -> str:
    return ",".join(f"{e.host}:{e.port}" for e in instance.endpoints)


def instance_row(instance: instance_pb2.Instance) -> list[object]:
    return [
        instance.service_name,
        instance.instance_id,
        status_name(instance.status),
        endpoints_text(instance),
        instance.version or "-",
        instance.zone or "-",
        ",".join(instance.tags) or "-",
    ]


INSTANCE_HEADERS = ["SERVICE", "INSTANCE", "STATUS", "ENDPOINTS", "VERSION", "ZONE", "TAGS"]


async def _ls(args: argparse.Namespace) -> int:
    async with common.channel(args) as ch:
        stub = registry_service_pb2_grpc.RegistryServiceStub(ch)
        md = common.metadata(args)
        if args.service or args.instances:
            instances: list[instance_pb2.Instance] = []
            token = ""
            while True:
                page = await stub.ListInstances(
                    registry_service_pb2.ListInstancesRequest(
                        service_name=args.service or "", page_size=1000, page_token=token
                    ),
                    metadata=md,
                    timeout=args.timeout,
                )
                instances.extend(page.instances)
                token = page.next_page_token
                if not token:
                    break
            if args.json:
                common.print_json([common.message_json(i) for i in instances])
            else:
                common.print_table(INSTANCE_HEADERS, (instance_row(i) for i in instances))
            return 0
        services: list[registry_service_pb2.ServiceSummary] = []
        token = ""
        while True:
            spage = await stub.ListServices(
                registry_service_pb2.ListServicesRequest(page_size=1000, page_token=token),
                metadata=md,
                timeout=args.timeout,
            )
            services.extend(spage.services)
            token = spage.next_page_token
            if not token:
                break
        if args.json:
            common.print_json([common.message_json(s) for s in services])
        else:
            rows = ([s.service_name, s.instance_count, s.serving_count] for s in services)
            common.print_table(["SERVICE", "INSTANCES", "SERVING"], rows)
        return 0


def _metadata_pairs(items: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--meta takes KEY=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


async def _lookup(args: argparse.Namespace) -> int:
    statuses = [instance_pb2.HealthStatus.Value("HEALTH_STATUS_" + s.upper()) for s in args.status]
    request = registry_service_pb2.LookupRequest(
        service_name=args.name,
        tags=args.tag,
        version_constraint=args.version or "",
        metadata=_metadata_pairs(args.meta),
        preferred_zone=args.zone or "",
        statuses=statuses,
        limit=args.limit,
    )
    async with common.channel(args) as ch:
        stub = registry_service_pb2_grpc.RegistryServiceStub(ch)
        response = await stub.Lookup(request, metadata=common.metadata(args), timeout=args.timeout)
    if args.json:
        common.print_json(common.message_json(response))
    else:
        common.print_table(INSTANCE_HEADERS, (instance_row(i) for i in response.instances))
    return 0


def _event_line(kind: str, event: registry_service_pb2.WatchEvent) -> str:
    instance = event.instance
    change = registry_service_pb2.WatchEventType.Name(event.type).removeprefix("WATCH_EVENT_TYPE_").lower()
    if kind == "snapshot":
        change = "present"
    detail = status_name(instance.status)
    if event.type == registry_service_pb2.WATCH_EVENT_TYPE_STATUS_CHANGED:
        detail = f"{status_name(event.previous_status)}->{detail}"
    rev = event.revision or "-"
    name = f"{instance.service_name}/{instance.instance_id}"
    return f"rev={rev} {change:<14} {name} {detail} {endpoints_text(instance)}"


async def _watch(args: argparse.Namespace) -> int:
    request = registry_service_pb2.WatchRequest(service_names=args.names, after_revision=args.after)
    async with common.channel(args) as ch:
        stub = registry_service_pb2_grpc.RegistryServiceStub(ch)
        call = stub.Watch(request, metadata=common.metadata(args))
        async for response in call:
            if args.json:
                common.print_json(common.message_json(response))
                continue
            kind = registry_service_pb2.WatchResponseKind.Name(response.kind)
            kind = kind.removeprefix("WATCH_RESPONSE_KIND_").lower()
            if response.compact_revision:
                print(f"# revision {args.after} is no longer available; fresh snapshot follows")
            if kind == "progress" and not args.progress:
                continue
            for event in response.events:
                print(common.printable(_event_line(kind, event)), flush=True)
            if kind == "progress":
                print(f"rev={response.revision} progress", flush=True)
    return 0


def _run(handler: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(asyncio.run(handler(args)))
        except grpc.aio.AioRpcError as error:
            return common.fail(error)
        except OSError as error:  # an unreadable TLS file
            return common.fail_setup(error)
        except KeyboardInterrupt:
            return 130

    return run


def add_parsers(subparsers: Any) -> None:
    ls = subparsers.add_parser("ls", help="list services, or instances with --instances/--service")
    common.add_client_arguments(ls)
    ls.add_argument("--service", help="list the instances of this service")
    ls.add_argument("--instances", action="store_true", help="list every instance")
    ls.set_defaults(func=_run(_ls))

    lookup = subparsers.add_parser("lookup", help="resolve a service to its matching instances")
    common.add_client_arguments(lookup)
    lookup.add_argument("name", help="service name")
    lookup.add_argument("--tag", action="append", default=[], help="require a tag (repeatable)")
    lookup.add_argument("--version", help="version constraint, e.g. '>=1.2,<2'")
    lookup.add_argument("--meta", action="append", default=[], help="require metadata KEY=VALUE (repeatable)")
    lookup.add_argument("--zone", help="preferred zone (listed first)")
    lookup.add_argument(
        "--status", action="append", default=[], help="statuses to return (default: the serving ones)"
    )
    lookup.add_argument("--limit", type=int, default=0, help="at most this many instances")
    lookup.set_defaults(func=_run(_lookup))

    watch = subparsers.add_parser("watch", help="stream changes of some services (or all)")
    common.add_client_arguments(watch)
    watch.add_argument("names", nargs="*", help="services to watch; none means all")
    watch.add_argument("--after", type=int, default=0, help="resume after this revision")
    watch.add_argument("--progress", action="store_true", help="also print progress notifications")
    watch.set_defaults(func=_run(_watch))
