// Original file: protos/registry/v1/registry_service.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchRequest {
  'serviceNames'?: (string)[];
  'afterRevision'?: (number | string | Long);
  'progressIntervalMs'?: (number);
}

export interface WatchRequest__Output {
  'serviceNames': (string)[];
  'afterRevision': (string);
  'progressIntervalMs': (number);
}
