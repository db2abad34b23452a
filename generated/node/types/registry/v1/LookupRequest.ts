// Original file: protos/registry/v1/registry_service.proto

import type { HealthStatus as _registry_v1_HealthStatus, HealthStatus__Output as _registry_v1_HealthStatus__Output } from '../../registry/v1/HealthStatus';

export interface LookupRequest {
  'serviceName'?: (string);
  'tags'?: (string)[];
  'versionConstraint'?: (string);
  'metadata'?: ({[key: string]: string});
  'preferredZone'?: (string);
  'statuses'?: (_registry_v1_HealthStatus)[];
  'limit'?: (number);
}

export interface LookupRequest__Output {
  'serviceName': (string);
  'tags': (string)[];
  'versionConstraint': (string);
  'metadata': ({[key: string]: string});
  'preferredZone': (string);
  'statuses': (_registry_v1_HealthStatus__Output)[];
  'limit': (number);
}
