// Original file: protos/registry/v1/heartbeat_service.proto

import type { StatusCounts as _registry_v1_StatusCounts, StatusCounts__Output as _registry_v1_StatusCounts__Output } from '../../registry/v1/StatusCounts';

export interface ServiceStatusCounts {
  'serviceName'?: (string);
  'counts'?: (_registry_v1_StatusCounts | null);
}

export interface ServiceStatusCounts__Output {
  'serviceName': (string);
  'counts': (_registry_v1_StatusCounts__Output | null);
}
