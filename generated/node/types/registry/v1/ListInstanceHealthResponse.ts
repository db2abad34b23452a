// Original file: protos/registry/v1/heartbeat_service.proto

import type { InstanceHealth as _registry_v1_InstanceHealth, InstanceHealth__Output as _registry_v1_InstanceHealth__Output } from '../../registry/v1/InstanceHealth';

export interface ListInstanceHealthResponse {
  'healths'?: (_registry_v1_InstanceHealth)[];
  'nextPageToken'?: (string);
}

export interface ListInstanceHealthResponse__Output {
  'healths': (_registry_v1_InstanceHealth__Output)[];
  'nextPageToken': (string);
}
