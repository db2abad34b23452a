// Original file: protos/registry/v1/heartbeat_service.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { HealthStatus as _registry_v1_HealthStatus, HealthStatus__Output as _registry_v1_HealthStatus__Output } from '../../registry/v1/HealthStatus';
import type { Long } from '@grpc/proto-loader';

export interface BeatAck {
  'sequence'?: (number | string | Long);
  'serverTime'?: (_google_protobuf_Timestamp | null);
  'status'?: (_registry_v1_HealthStatus);
}

export interface BeatAck__Output {
  'sequence': (string);
  'serverTime': (_google_protobuf_Timestamp__Output | null);
  'status': (_registry_v1_HealthStatus__Output);
}
