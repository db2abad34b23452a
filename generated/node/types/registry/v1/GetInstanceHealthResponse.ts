// Original file: protos/registry/v1/heartbeat_service.proto

import type { InstanceHealth as _registry_v1_InstanceHealth, InstanceHealth__Output as _registry_v1_InstanceHealth__Output } from '../../registry/v1/InstanceHealth';

export interface GetInstanceHealthResponse {
  'health'?: (_registry_v1_InstanceHealth | null);
}

export interface GetInstanceHealthResponse__Output {
  'health': (_registry_v1_InstanceHealth__Output | null);
}
