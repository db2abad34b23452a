// Original file: protos/registry/v1/dependency_graph.proto

import type { GraphService as _registry_v1_GraphService, GraphService__Output as _registry_v1_GraphService__Output } from '../../registry/v1/GraphService';
import type { DependencyEdge as _registry_v1_DependencyEdge, DependencyEdge__Output as _registry_v1_DependencyEdge__Output } from '../../registry/v1/DependencyEdge';
import type { DependencyCycle as _registry_v1_DependencyCycle, DependencyCycle__Output as _registry_v1_DependencyCycle__Output } from '../../registry/v1/DependencyCycle';
import type { ImpactedService as _registry_v1_ImpactedService, ImpactedService__Output as _registry_v1_ImpactedService__Output } from '../../registry/v1/ImpactedService';
import type { GraphDifferences as _registry_v1_GraphDifferences, GraphDifferences__Output as _registry_v1_GraphDifferences__Output } from '../../registry/v1/GraphDifferences';
import type { GraphWindow as _registry_v1_GraphWindow, GraphWindow__Output as _registry_v1_GraphWindow__Output } from '../../registry/v1/GraphWindow';
import type { Long } from '@grpc/proto-loader';

export interface DependencyGraph {
  'services'?: (_registry_v1_GraphService)[];
  'edges'?: (_registry_v1_DependencyEdge)[];
  'cycles'?: (_registry_v1_DependencyCycle)[];
  'cyclesTruncated'?: (boolean);
  'hubs'?: (string)[];
  'criticalPath'?: (string)[];
  'blastRadius'?: (_registry_v1_ImpactedService)[];
  'differences'?: (_registry_v1_GraphDifferences | null);
  'window'?: (_registry_v1_GraphWindow);
  'observedDropped'?: (number | string | Long);
}

export interface DependencyGraph__Output {
  'services': (_registry_v1_GraphService__Output)[];
  'edges': (_registry_v1_DependencyEdge__Output)[];
  'cycles': (_registry_v1_DependencyCycle__Output)[];
  'cyclesTruncated': (boolean);
  'hubs': (string)[];
  'criticalPath': (string)[];
  'blastRadius': (_registry_v1_ImpactedService__Output)[];
  'differences': (_registry_v1_GraphDifferences__Output | null);
  'window': (_registry_v1_GraphWindow__Output);
  'observedDropped': (string);
}
