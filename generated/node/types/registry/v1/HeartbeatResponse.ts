// Original file: protos/registry/v1/heartbeat_service.proto

import type { HeartbeatBound as _registry_v1_HeartbeatBound, HeartbeatBound__Output as _registry_v1_HeartbeatBound__Output } from '../../registry/v1/HeartbeatBound';
import type { BeatAck as _registry_v1_BeatAck, BeatAck__Output as _registry_v1_BeatAck__Output } from '../../registry/v1/BeatAck';
import type { Directive as _registry_v1_Directive, Directive__Output as _registry_v1_Directive__Output } from '../../registry/v1/Directive';

export interface HeartbeatResponse {
  'bound'?: (_registry_v1_HeartbeatBound | null);
  'ack'?: (_registry_v1_BeatAck | null);
  'directive'?: (_registry_v1_Directive | null);
  'kind'?: "bound"|"ack"|"directive";
}

export interface HeartbeatResponse__Output {
  'bound'?: (_registry_v1_HeartbeatBound__Output | null);
  'ack'?: (_registry_v1_BeatAck__Output | null);
  'directive'?: (_registry_v1_Directive__Output | null);
  'kind'?: "bound"|"ack"|"directive";
}
