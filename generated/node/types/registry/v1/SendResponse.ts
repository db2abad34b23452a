// Original file: protos/registry/v1/relay_service.proto

import type { Reply as _registry_v1_Reply, Reply__Output as _registry_v1_Reply__Output } from '../../registry/v1/Reply';

export interface SendResponse {
  'reply'?: (_registry_v1_Reply | null);
  'envelopeId'?: (string);
  'traceId'?: (string);
  'instanceId'?: (string);
  'attempts'?: (number);
}

export interface SendResponse__Output {
  'reply': (_registry_v1_Reply__Output | null);
  'envelopeId': (string);
  'traceId': (string);
  'instanceId': (string);
  'attempts': (number);
}
