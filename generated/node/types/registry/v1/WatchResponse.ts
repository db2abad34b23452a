// Original file: protos/registry/v1/registry_service.proto

import type { WatchResponseKind as _registry_v1_WatchResponseKind, WatchResponseKind__Output as _registry_v1_WatchResponseKind__Output } from '../../registry/v1/WatchResponseKind';
import type { WatchEvent as _registry_v1_WatchEvent, WatchEvent__Output as _registry_v1_WatchEvent__Output } from '../../registry/v1/WatchEvent';
import type { Long } from '@grpc/proto-loader';

export interface WatchResponse {
  'kind'?: (_registry_v1_WatchResponseKind);
  'events'?: (_registry_v1_WatchEvent)[];
  'revision'?: (number | string | Long);
  'compactRevision'?: (number | string | Long);
  'snapshotContinues'?: (boolean);
}

export interface WatchResponse__Output {
  'kind': (_registry_v1_WatchResponseKind__Output);
  'events': (_registry_v1_WatchEvent__Output)[];
  'revision': (string);
  'compactRevision': (string);
  'snapshotContinues': (boolean);
}
