// Original file: protos/registry/v1/inbox_service.proto

import type { Envelope as _registry_v1_Envelope, Envelope__Output as _registry_v1_Envelope__Output } from '../../registry/v1/Envelope';

export interface DeliverRequest {
  'envelope'?: (_registry_v1_Envelope | null);
  'deliveryToken'?: (string);
}

export interface DeliverRequest__Output {
  'envelope': (_registry_v1_Envelope__Output | null);
  'deliveryToken': (string);
}
