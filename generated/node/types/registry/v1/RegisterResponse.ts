// Original file: protos/registry/v1/registry_service.proto

import type { Instance as _registry_v1_Instance, Instance__Output as _registry_v1_Instance__Output } from '../../registry/v1/Instance';

export interface RegisterResponse {
  'instance'?: (_registry_v1_Instance | null);
  'created'?: (boolean);
}

export interface RegisterResponse__Output {
  'instance': (_registry_v1_Instance__Output | null);
  'created': (boolean);
}
