// Original file: protos/registry/v1/heartbeat_service.proto

import type { HealthStatus as _registry_v1_HealthStatus, HealthStatus__Output as _registry_v1_HealthStatus__Output } from '../../registry/v1/HealthStatus';
import type { HeartbeatPolicy as _registry_v1_HeartbeatPolicy, HeartbeatPolicy__Output as _registry_v1_HeartbeatPolicy__Output } from '../../registry/v1/HeartbeatPolicy';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { Load as _registry_v1_Load, Load__Output as _registry_v1_Load__Output } from '../../registry/v1/Load';
import type { Long } from '@grpc/proto-loader';

export interface InstanceHealth {
  'serviceName'?: (string);
  'instanceId'?: (string);
  'status'?: (_registry_v1_HealthStatus);
  'policy'?: (_registry_v1_HeartbeatPolicy | null);
  'streamConnected'?: (boolean);
  'heartbeatCount'?: (number | string | Long);
  'missedHeartbeats'?: (number | string | Long);
  'consecutiveFailures'?: (number);
  'averageLatencyMs'?: (number | string);
  'minLatencyMs'?: (number | string);
  'maxLatencyMs'?: (number | string);
  'uptimeSeconds'?: (number | string);
  'uptimePercentage'?: (number | string);
  'lastHeartbeatTime'?: (_google_protobuf_Timestamp | null);
  'secondsSinceLast'?: (number | string);
  'load'?: (_registry_v1_Load | null);
}

export interface InstanceHealth__Output {
  'serviceName': (string);
  'instanceId': (string);
  'status': (_registry_v1_HealthStatus__Output);
  'policy': (_registry_v1_HeartbeatPolicy__Output | null);
  'streamConnected': (boolean);
  'heartbeatCount': (string);
  'missedHeartbeats': (string);
  'consecutiveFailures': (number);
  'averageLatencyMs': (number);
  'minLatencyMs': (number);
  'maxLatencyMs': (number);
  'uptimeSeconds': (number);
  'uptimePercentage': (number);
  'lastHeartbeatTime': (_google_protobuf_Timestamp__Output | null);
  'secondsSinceLast': (number);
  'load': (_registry_v1_Load__Output | null);
}
