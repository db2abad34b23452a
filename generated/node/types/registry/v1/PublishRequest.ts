// Original file: protos/registry/v1/relay_service.proto

import type { Envelope as _registry_v1_Envelope, Envelope__Output as _registry_v1_Envelope__Output } from '../../registry/v1/Envelope';

export interface PublishRequest {
  'envelope'?: (_registry_v1_Envelope | null);
}

export interface PublishRequest__Output {
  'envelope': (_registry_v1_Envelope__Output | null);
}
