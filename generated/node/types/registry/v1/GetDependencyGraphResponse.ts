// Original file: protos/registry/v1/registry_service.proto

import type { DependencyGraph as _registry_v1_DependencyGraph, DependencyGraph__Output as _registry_v1_DependencyGraph__Output } from '../../registry/v1/DependencyGraph';

export interface GetDependencyGraphResponse {
  'graph'?: (_registry_v1_DependencyGraph | null);
}

export interface GetDependencyGraphResponse__Output {
  'graph': (_registry_v1_DependencyGraph__Output | null);
}
