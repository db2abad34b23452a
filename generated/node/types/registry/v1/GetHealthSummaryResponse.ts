// Original file: protos/registry/v1/heartbeat_service.proto

import type { StatusCounts as _registry_v1_StatusCounts, StatusCounts__Output as _registry_v1_StatusCounts__Output } from '../../registry/v1/StatusCounts';
import type { ServiceStatusCounts as _registry_v1_ServiceStatusCounts, ServiceStatusCounts__Output as _registry_v1_ServiceStatusCounts__Output } from '../../registry/v1/ServiceStatusCounts';

export interface GetHealthSummaryResponse {
  'total'?: (_registry_v1_StatusCounts | null);
  'services'?: (_registry_v1_ServiceStatusCounts)[];
  'selfPreservationActive'?: (boolean);
  'startupGraceActive'?: (boolean);
  'openStreams'?: (number);
}

export interface GetHealthSummaryResponse__Output {
  'total': (_registry_v1_StatusCounts__Output | null);
  'services': (_registry_v1_ServiceStatusCounts__Output)[];
  'selfPreservationActive': (boolean);
  'startupGraceActive': (boolean);
  'openStreams': (number);
}
