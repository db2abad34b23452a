// Original file: protos/registry/v1/dependency_graph.proto

import type { ServicePair as _registry_v1_ServicePair, ServicePair__Output as _registry_v1_ServicePair__Output } from '../../registry/v1/ServicePair';

export interface GraphDifferences {
  'undeclared'?: (_registry_v1_ServicePair)[];
  'unused'?: (_registry_v1_ServicePair)[];
  'unserved'?: (_registry_v1_ServicePair)[];
}

export interface GraphDifferences__Output {
  'undeclared': (_registry_v1_ServicePair__Output)[];
  'unused': (_registry_v1_ServicePair__Output)[];
  'unserved': (_registry_v1_ServicePair__Output)[];
}
