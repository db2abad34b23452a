// Original file: protos/registry/v1/heartbeat_service.proto

import type { DirectiveType as _registry_v1_DirectiveType, DirectiveType__Output as _registry_v1_DirectiveType__Output } from '../../registry/v1/DirectiveType';
import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from '../../google/protobuf/Duration';

export interface Directive {
  'type'?: (_registry_v1_DirectiveType);
  'interval'?: (_google_protobuf_Duration | null);
  'reason'?: (string);
}

export interface Directive__Output {
  'type': (_registry_v1_DirectiveType__Output);
  'interval': (_google_protobuf_Duration__Output | null);
  'reason': (string);
}
