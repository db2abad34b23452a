// Original file: protos/registry/v1/relay_service.proto

import type { Envelope as _registry_v1_Envelope, Envelope__Output as _registry_v1_Envelope__Output } from '../../registry/v1/Envelope';
import type { Long } from '@grpc/proto-loader';

export interface ListEventsResponse {
  'events'?: (_registry_v1_Envelope)[];
  'nextPageToken'?: (string);
  'headSequence'?: (number | string | Long);
}

export interface ListEventsResponse__Output {
  'events': (_registry_v1_Envelope__Output)[];
  'nextPageToken': (string);
  'headSequence': (string);
}
