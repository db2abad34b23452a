// Original file: protos/registry/v1/instance.proto

import type { DependencyKind as _registry_v1_DependencyKind, DependencyKind__Output as _registry_v1_DependencyKind__Output } from '../../registry/v1/DependencyKind';

export interface Dependency {
  'serviceName'?: (string);
  'kind'?: (_registry_v1_DependencyKind);
  'versionConstraint'?: (string);
}

export interface Dependency__Output {
  'serviceName': (string);
  'kind': (_registry_v1_DependencyKind__Output);
  'versionConstraint': (string);
}
