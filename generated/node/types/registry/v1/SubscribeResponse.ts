// Original file: protos/registry/v1/relay_service.proto

import type { SubscriptionStarted as _registry_v1_SubscriptionStarted, SubscriptionStarted__Output as _registry_v1_SubscriptionStarted__Output } from '../../registry/v1/SubscriptionStarted';
import type { Envelope as _registry_v1_Envelope, Envelope__Output as _registry_v1_Envelope__Output } from '../../registry/v1/Envelope';
import type { Long } from '@grpc/proto-loader';

export interface SubscribeResponse {
  'started'?: (_registry_v1_SubscriptionStarted | null);
  'event'?: (_registry_v1_Envelope | null);
  'resumeAfterSequence'?: (number | string | Long);
  'kind'?: "started"|"event";
}

export interface SubscribeResponse__Output {
  'started'?: (_registry_v1_SubscriptionStarted__Output | null);
  'event'?: (_registry_v1_Envelope__Output | null);
  'resumeAfterSequence': (string);
  'kind'?: "started"|"event";
}
