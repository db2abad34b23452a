// Original file: protos/registry/v1/dependency_graph.proto

import type { DeclaredDependency as _registry_v1_DeclaredDependency, DeclaredDependency__Output as _registry_v1_DeclaredDependency__Output } from '../../registry/v1/DeclaredDependency';
import type { ObservedTraffic as _registry_v1_ObservedTraffic, ObservedTraffic__Output as _registry_v1_ObservedTraffic__Output } from '../../registry/v1/ObservedTraffic';

export interface DependencyEdge {
  'sourceService'?: (string);
  'targetService'?: (string);
  'declared'?: (_registry_v1_DeclaredDependency | null);
  'observed'?: (_registry_v1_ObservedTraffic)[];
}

export interface DependencyEdge__Output {
  'sourceService': (string);
  'targetService': (string);
  'declared': (_registry_v1_DeclaredDependency__Output | null);
  'observed': (_registry_v1_ObservedTraffic__Output)[];
}
