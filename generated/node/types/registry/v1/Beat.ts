// Original file: protos/registry/v1/heartbeat_service.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../google/protobuf/Duration';
import type { Load as _registry_v1_Load, Load__Output as _registry_v1_Load__Output } from '../../registry/v1/Load';
import type { Long } from '@grpc/proto-loader';

export interface Beat {
  'sequence'?: (number | string | Long);
  'sendTime'?: (_google_protobuf_Timestamp | null);
  'lastRtt'?: (_google_protobuf_Duration | null);
  'load'?: (_registry_v1_Load | null);
}

export interface Beat__Output {
  'sequence': (string);
  'sendTime': (_google_protobuf_Timestamp__Output | null);
  'lastRtt': (_google_protobuf_Duration__Output | null);
  'load': (_registry_v1_Load__Output | null);
}
