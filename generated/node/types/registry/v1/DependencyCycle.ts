// Original file: protos/registry/v1/dependency_graph.proto

import type { ServicePair as _registry_v1_ServicePair, ServicePair__Output as _registry_v1_ServicePair__Output } from '../../registry/v1/ServicePair';

export interface DependencyCycle {
  'services'?: (string)[];
  'edges'?: (_registry_v1_ServicePair)[];
}

export interface DependencyCycle__Output {
  'services': (string)[];
  'edges': (_registry_v1_ServicePair__Output)[];
}
