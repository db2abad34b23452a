// Original file: protos/registry/v1/dependency_graph.proto

import type { DependencyKind as _registry_v1_DependencyKind, DependencyKind__Output as _registry_v1_DependencyKind__Output } from '../../registry/v1/DependencyKind';

export interface DeclaredDependency {
  'kind'?: (_registry_v1_DependencyKind);
  'versionConstraints'?: (string)[];
  'instanceCount'?: (number);
}

export interface DeclaredDependency__Output {
  'kind': (_registry_v1_DependencyKind__Output);
  'versionConstraints': (string)[];
  'instanceCount': (number);
}
