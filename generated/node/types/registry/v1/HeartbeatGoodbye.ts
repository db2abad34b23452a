// Original file: protos/registry/v1/heartbeat_service.proto

import type { GoodbyeReason as _registry_v1_GoodbyeReason, GoodbyeReason__Output as _registry_v1_GoodbyeReason__Output } from '../../registry/v1/GoodbyeReason';

export interface HeartbeatGoodbye {
  'reason'?: (_registry_v1_GoodbyeReason);
}

export interface HeartbeatGoodbye__Output {
  'reason': (_registry_v1_GoodbyeReason__Output);
}
