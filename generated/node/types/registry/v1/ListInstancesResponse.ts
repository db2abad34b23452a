// Original file: protos/registry/v1/registry_service.proto

import type { Instance as _registry_v1_Instance, Instance__Output as _registry_v1_Instance__Output } from '../../registry/v1/Instance';
import type { Long } from '@grpc/proto-loader';

export interface ListInstancesResponse {
  'instances'?: (_registry_v1_Instance)[];
  'nextPageToken'?: (string);
  'revision'?: (number | string | Long);
}

export interface ListInstancesResponse__Output {
  'instances': (_registry_v1_Instance__Output)[];
  'nextPageToken': (string);
  'revision': (string);
}
