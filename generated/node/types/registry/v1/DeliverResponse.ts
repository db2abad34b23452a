// Original file: protos/registry/v1/inbox_service.proto

import type { Reply as _registry_v1_Reply, Reply__Output as _registry_v1_Reply__Output } from '../../registry/v1/Reply';

export interface DeliverResponse {
  'reply'?: (_registry_v1_Reply | null);
}

export interface DeliverResponse__Output {
  'reply': (_registry_v1_Reply__Output | null);
}
