// Original file: protos/registry/v1/dependency_graph.proto

import type { ImpactKind as _registry_v1_ImpactKind, ImpactKind__Output as _registry_v1_ImpactKind__Output } from '../../registry/v1/ImpactKind';

export interface ImpactedService {
  'serviceName'?: (string);
  'kind'?: (_registry_v1_ImpactKind);
  'depth'?: (number);
}

export interface ImpactedService__Output {
  'serviceName': (string);
  'kind': (_registry_v1_ImpactKind__Output);
  'depth': (number);
}
