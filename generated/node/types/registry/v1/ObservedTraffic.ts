// Original file: protos/registry/v1/dependency_graph.proto

import type { MessageType as _registry_v1_MessageType, MessageType__Output as _registry_v1_MessageType__Output } from '../../registry/v1/MessageType';
import type { StatusCount as _registry_v1_StatusCount, StatusCount__Output as _registry_v1_StatusCount__Output } from '../../registry/v1/StatusCount';
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../google/protobuf/Duration';
import type { Long } from '@grpc/proto-loader';

export interface ObservedTraffic {
  'type'?: (_registry_v1_MessageType);
  'count'?: (number | string | Long);
  'errors'?: (_registry_v1_StatusCount)[];
  'p50'?: (_google_protobuf_Duration | null);
  'p90'?: (_google_protobuf_Duration | null);
  'p99'?: (_google_protobuf_Duration | null);
}

export interface ObservedTraffic__Output {
  'type': (_registry_v1_MessageType__Output);
  'count': (string);
  'errors': (_registry_v1_StatusCount__Output)[];
  'p50': (_google_protobuf_Duration__Output | null);
  'p90': (_google_protobuf_Duration__Output | null);
  'p99': (_google_protobuf_Duration__Output | null);
}
