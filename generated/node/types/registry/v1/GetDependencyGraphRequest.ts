// Original file: protos/registry/v1/registry_service.proto

import type { GraphWindow as _registry_v1_GraphWindow, GraphWindow__Output as _registry_v1_GraphWindow__Output } from '../../registry/v1/GraphWindow';
import type { GraphEdgeKind as _registry_v1_GraphEdgeKind, GraphEdgeKind__Output as _registry_v1_GraphEdgeKind__Output } from '../../registry/v1/GraphEdgeKind';

export interface GetDependencyGraphRequest {
  'rootService'?: (string);
  'depth'?: (number);
  'window'?: (_registry_v1_GraphWindow);
  'kinds'?: (_registry_v1_GraphEdgeKind)[];
}

export interface GetDependencyGraphRequest__Output {
  'rootService': (string);
  'depth': (number);
  'window': (_registry_v1_GraphWindow__Output);
  'kinds': (_registry_v1_GraphEdgeKind__Output)[];
}
