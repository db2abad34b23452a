// Original file: protos/registry/v1/registry_service.proto

import type { Long } from '@grpc/proto-loader';

export interface DeregisterResponse {
  'revision'?: (number | string | Long);
}

export interface DeregisterResponse__Output {
  'revision': (string);
}
