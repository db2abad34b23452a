"""`python -m tests.abuse.load flood|storm ADDRESS AMOUNT`: abusive load from another process.

- `flood ADDRESS SECONDS`: six connections keep 16 calls each in flight: lookups, lists, bad
  requests that must be refused (INVALID_ARGUMENT, NOT_FOUND) and a few registrations.
- `storm ADDRESS ROUNDS`: eight workers each open a new connection per round, bind a heartbeat
  stream with take_over, beat once and drop the connection under the open stream.

Prints one JSON line: the number of calls and the status codes that were not expected. A separate
process, so the abuser's client-side work does not share an interpreter (and its lock) with the
test's latency probe.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import grpc

from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import heartbeat_service_pb2_grpc as hb_grpc
from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc
from tests.auth.support import token

WORKERS = 6
IN_FLIGHT = 16
EXPECTED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}


def _calls(
    stub: pb_grpc.RegistryServiceStub, worker: int, n: int, metadata: tuple[tuple[str, str], ...]
) -> list[grpc.Future[Any]]:
    calls: list[grpc.Future[Any]] = []
    for k in range(IN_FLIGHT):
        if k == 0:
            endpoint = ipb.Endpoint(host="127.0.0.1", port=9000, protocol=ipb.ENDPOINT_PROTOCOL_GRPC)
            instance = ipb.Instance(
                service_name=f"flood-{worker}", instance_id=f"i-{(n + k) % 50}", endpoints=[endpoint]
            )
            calls.append(
                stub.Register.future(pb.RegisterRequest(instance=instance), metadata=metadata, timeout=10)
            )
        elif k % 4 == 1:
            bad = pb.LookupRequest(service_name="probe", version_constraint=">=01.x,<<2")
            calls.append(stub.Lookup.future(bad, metadata=metadata, timeout=10))
        elif k % 4 == 2:
            missing = pb.GetInstanceRequest(service_name="nobody", instance_id="none")
            calls.append(stub.GetInstance.future(missing, metadata=metadata, timeout=10))
        elif k % 4 == 3:
            calls.append(stub.ListServices.future(pb.ListServicesRequest(), metadata=metadata, timeout=10))
        else:
            lookup = pb.LookupRequest(service_name=f"flood-{worker}")
            calls.append(stub.Lookup.future(lookup, metadata=metadata, timeout=10))
    return calls


def flood(address: str, seconds: float) -> None:
    counts = [0] * WORKERS
    unexpected: list[str] = []
    stop = threading.Event()

    def work(worker: int) -> None:
        metadata = (("authorization", f"Bearer {token(f'flood-{worker}', 'discover', ttl=600)}"),)
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.RegistryServiceStub(channel)
            while not stop.is_set():
                for future in _calls(stub, worker, counts[worker], metadata):
                    try:
                        future.result()
                    except grpc.RpcError as error:
                        if error.code() not in EXPECTED:
                            unexpected.append(error.code().name)
                    counts[worker] += 1

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(WORKERS)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(30)
    print(json.dumps({"calls": sum(counts), "unexpected": unexpected}))


def storm(address: str, rounds: int) -> None:
    unexpected: list[str] = []
    metadata = (("authorization", f"Bearer {token('storm', '', ttl=600)}"),)

    def work(worker: int) -> None:
        for r in range(rounds):
            with grpc.insecure_channel(address) as channel:  # a new connection every round
                bind = hb.HeartbeatBind(
                    service_name="storm", instance_id=f"s-{(worker + r) % 20}", take_over=True
                )
                requests = iter(
                    [hb.HeartbeatRequest(bind=bind), hb.HeartbeatRequest(beat=hb.Beat(sequence=1))]
                )
                call = hb_grpc.HeartbeatServiceStub(channel).Heartbeat(requests, metadata=metadata, timeout=5)
                try:
                    next(iter(call))
                except grpc.RpcError as error:
                    unexpected.append(error.code().name)
            # leaving the block drops the connection under the open stream

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    print(json.dumps({"calls": 8 * rounds, "unexpected": unexpected}))


if __name__ == "__main__":
    {
        "flood": lambda: flood(sys.argv[2], float(sys.argv[3])),
        "storm": lambda: storm(sys.argv[2], int(sys.argv[3])),
    }[sys.argv[1]]()
