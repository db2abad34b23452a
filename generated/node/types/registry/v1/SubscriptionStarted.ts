// Original file: protos/registry/v1/relay_service.proto

import type { Long } from '@grpc/proto-loader';

export interface SubscriptionStarted {
  'headSequence'?: (number | string | Long);
  'oldestSequence'?: (number | string | Long);
}

export interface SubscriptionStarted__Output {
  'headSequence': (string);
  'oldestSequence': (string);
}
