// Original file: protos/registry/v1/dependency_graph.proto

import type { Long } from '@grpc/proto-loader';

export interface StatusCount {
  'code'?: (number);
  'count'?: (number | string | Long);
}

export interface StatusCount__Output {
  'code': (number);
  'count': (string);
}
