// Original file: protos/registry/v1/registry_service.proto

import type { Instance as _registry_v1_Instance, Instance__Output as _registry_v1_Instance__Output } from '../../registry/v1/Instance';
import type { Long } from '@grpc/proto-loader';

export interface LookupResponse {
  'instances'?: (_registry_v1_Instance)[];
  'revision'?: (number | string | Long);
}

export interface LookupResponse__Output {
  'instances': (_registry_v1_Instance__Output)[];
  'revision': (string);
}
