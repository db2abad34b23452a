// Original file: protos/registry/v1/registry_service.proto

import type { Instance as _registry_v1_Instance, Instance__Output as _registry_v1_Instance__Output } from '../../registry/v1/Instance';

export interface GetInstanceResponse {
  'instance'?: (_registry_v1_Instance | null);
}

export interface GetInstanceResponse__Output {
  'instance': (_registry_v1_Instance__Output | null);
}
