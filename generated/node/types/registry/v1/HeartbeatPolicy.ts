// Original file: protos/registry/v1/instance.proto

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../google/protobuf/Duration';

export interface HeartbeatPolicy {
  'interval'?: (_google_protobuf_Duration | null);
  'timeout'?: (_google_protobuf_Duration | null);
  'maxFailures'?: (number);
}

export interface HeartbeatPolicy__Output {
  'interval': (_google_protobuf_Duration__Output | null);
  'timeout': (_google_protobuf_Duration__Output | null);
  'maxFailures': (number);
}
