// Original file: protos/registry/v1/registry_service.proto

import type { WatchEventType as _registry_v1_WatchEventType, WatchEventType__Output as _registry_v1_WatchEventType__Output } from '../../registry/v1/WatchEventType';
import type { Instance as _registry_v1_Instance, Instance__Output as _registry_v1_Instance__Output } from '../../registry/v1/Instance';
import type { HealthStatus as _registry_v1_HealthStatus, HealthStatus__Output as _registry_v1_HealthStatus__Output } from '../../registry/v1/HealthStatus';
import type { Long } from '@grpc/proto-loader';

export interface WatchEvent {
  'type'?: (_registry_v1_WatchEventType);
  'instance'?: (_registry_v1_Instance | null);
  'revision'?: (number | string | Long);
  'previousStatus'?: (_registry_v1_HealthStatus);
}

export interface WatchEvent__Output {
  'type': (_registry_v1_WatchEventType__Output);
  'instance': (_registry_v1_Instance__Output | null);
  'revision': (string);
  'previousStatus': (_registry_v1_HealthStatus__Output);
}
