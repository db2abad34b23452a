// Original file: protos/registry/v1/heartbeat_service.proto

import type { HeartbeatPolicy as _registry_v1_HeartbeatPolicy, HeartbeatPolicy__Output as _registry_v1_HeartbeatPolicy__Output } from '../../registry/v1/HeartbeatPolicy';
import type { HealthStatus as _registry_v1_HealthStatus, HealthStatus__Output as _registry_v1_HealthStatus__Output } from '../../registry/v1/HealthStatus';

export interface HeartbeatBound {
  'policy'?: (_registry_v1_HeartbeatPolicy | null);
  'status'?: (_registry_v1_HealthStatus);
}

export interface HeartbeatBound__Output {
  'policy': (_registry_v1_HeartbeatPolicy__Output | null);
  'status': (_registry_v1_HealthStatus__Output);
}
