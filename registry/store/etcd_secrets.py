"""Secrets every replica of a cluster shares, kept in etcd so no replica makes its own.

    <prefix>/keys/delivery   -> PKCS#8 PEM of the Ed25519 key that signs delivery tokens

The first replica to start writes a fresh key with a compare-and-swap (create only if absent);
every replica, that one included, then signs with the key etcd holds. So GetDeliveryKeys returns
the same JWKS on every replica and a delivery token from one verifies against the keys fetched
from any other. Whoever can read this key can forge deliveries: protect the prefix with etcd's
auth and TLS (docs/cluster.md).
"""

from __future__ import annotations

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from registry.core.ports import StoreOpenError
from registry.store.etcd_client import EtcdClient, compare_create, put_op, range_op


async def shared_delivery_key(client: EtcdClient, prefix: str) -> ed25519.Ed25519PrivateKey:
    key = f"{prefix.rstrip('/')}/keys/delivery".encode()
    candidate = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    response = await client.txn([compare_create(key, 0)], [put_op(key, candidate)], [range_op(key)])
    pem = candidate if response.succeeded else bytes(response.responses[0].response_range.kvs[0].value)
    try:
        loaded = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        loaded = None
    if not isinstance(loaded, ed25519.Ed25519PrivateKey):
        # Not skippable like an instance: every replica must sign with this one key. The replica
        # refuses to start with this line; the operator deletes the key (a new one is made) or
        # restores it.
        raise StoreOpenError(f"etcd key {key.decode()}", "not an Ed25519 private key in PEM (damaged?)")
    return loaded
