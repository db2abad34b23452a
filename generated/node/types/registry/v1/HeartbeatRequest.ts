// Original file: protos/registry/v1/heartbeat_service.proto

import type { HeartbeatBind as _registry_v1_HeartbeatBind, HeartbeatBind__Output as _registry_v1_HeartbeatBind__Output } from '../../registry/v1/HeartbeatBind';
import type { Beat as _registry_v1_Beat, Beat__Output as _registry_v1_Beat__Output } from '../../registry/v1/Beat';
import type { HeartbeatGoodbye as _registry_v1_HeartbeatGoodbye, HeartbeatGoodbye__Output as _registry_v1_HeartbeatGoodbye__Output } from '../../registry/v1/HeartbeatGoodbye';

export interface HeartbeatRequest {
  'bind'?: (_registry_v1_HeartbeatBind | null);
  'beat'?: (_registry_v1_Beat | null);
  'goodbye'?: (_registry_v1_HeartbeatGoodbye | null);
  'kind'?: "bind"|"beat"|"goodbye";
}

export interface HeartbeatRequest__Output {
  'bind'?: (_registry_v1_HeartbeatBind__Output | null);
  'beat'?: (_registry_v1_Beat__Output | null);
  'goodbye'?: (_registry_v1_HeartbeatGoodbye__Output | null);
  'kind'?: "bind"|"beat"|"goodbye";
}
