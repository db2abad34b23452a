// Original file: protos/registry/v1/relay_service.proto

import type { Envelope as _registry_v1_Envelope, Envelope__Output as _registry_v1_Envelope__Output } from '../../registry/v1/Envelope';
import type { LoadBalancing as _registry_v1_LoadBalancing, LoadBalancing__Output as _registry_v1_LoadBalancing__Output } from '../../registry/v1/LoadBalancing';

export interface SendRequest {
  'envelope'?: (_registry_v1_Envelope | null);
  'loadBalancing'?: (_registry_v1_LoadBalancing);
}

export interface SendRequest__Output {
  'envelope': (_registry_v1_Envelope__Output | null);
  'loadBalancing': (_registry_v1_LoadBalancing__Output);
}
