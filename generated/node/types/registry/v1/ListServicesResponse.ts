// Original file: protos/registry/v1/registry_service.proto

import type { ServiceSummary as _registry_v1_ServiceSummary, ServiceSummary__Output as _registry_v1_ServiceSummary__Output } from '../../registry/v1/ServiceSummary';
import type { Long } from '@grpc/proto-loader';

export interface ListServicesResponse {
  'services'?: (_registry_v1_ServiceSummary)[];
  'nextPageToken'?: (string);
  'revision'?: (number | string | Long);
}

export interface ListServicesResponse__Output {
  'services': (_registry_v1_ServiceSummary__Output)[];
  'nextPageToken': (string);
  'revision': (string);
}
