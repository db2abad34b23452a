// Original file: protos/registry/v1/relay_service.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { Long } from '@grpc/proto-loader';

export interface PublishResponse {
  'eventId'?: (string);
  'sequence'?: (number | string | Long);
  'traceId'?: (string);
  'createTime'?: (_google_protobuf_Timestamp | null);
}

export interface PublishResponse__Output {
  'eventId': (string);
  'sequence': (string);
  'traceId': (string);
  'createTime': (_google_protobuf_Timestamp__Output | null);
}
