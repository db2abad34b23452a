// Type-checked by tests/test_conformance.py (`tsc --noEmit`): the TypeScript types shipped in
// generated/node describe the objects the loader produces, so a TypeScript service gets its
// requests, responses and enums checked at compile time.
import * as grpc from '@grpc/grpc-js';
import { registry } from '@grpc-service-registry/stubs';
import type { LookupRequest } from '@grpc-service-registry/stubs/types/registry/v1/LookupRequest';
import type { Instance__Output } from '@grpc-service-registry/stubs/types/registry/v1/Instance';

export function lookup(address: string, token: string): Promise<Instance__Output[]> {
  const client = new registry.v1.RegistryService(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const request: LookupRequest = { serviceName: 'orders', versionConstraint: '>=1.0.0', statuses: ['HEALTH_STATUS_HEALTHY'] };
  return new Promise((resolve, reject) => {
    client.Lookup(request, metadata, (err, response) => {
      if (err || !response) return reject(err);
      const revision: string = response.revision; // int64 as a string (longs: String)
      const healthy = response.instances.filter((i) => i.status === 'HEALTH_STATUS_HEALTHY');
      resolve(revision ? healthy : []);
    });
  });
}
