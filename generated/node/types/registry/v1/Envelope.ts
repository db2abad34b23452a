// Original file: protos/registry/v1/envelope.proto

import type { MessageType as _registry_v1_MessageType, MessageType__Output as _registry_v1_MessageType__Output } from '../../registry/v1/MessageType';
import type { Priority as _registry_v1_Priority, Priority__Output as _registry_v1_Priority__Output } from '../../registry/v1/Priority';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { Long } from '@grpc/proto-loader';

export interface Envelope {
  'id'?: (string);
  'type'?: (_registry_v1_MessageType);
  'name'?: (string);
  'sourceService'?: (string);
  'targetService'?: (string);
  'payload'?: (Buffer | Uint8Array | string);
  'contentType'?: (string);
  'headers'?: ({[key: string]: string});
  'tenantId'?: (string);
  'priority'?: (_registry_v1_Priority);
  'traceId'?: (string);
  'idempotencyKey'?: (string);
  'createTime'?: (_google_protobuf_Timestamp | null);
  'sequence'?: (number | string | Long);
  'traceContext'?: ({[key: string]: string});
}

export interface Envelope__Output {
  'id': (string);
  'type': (_registry_v1_MessageType__Output);
  'name': (string);
  'sourceService': (string);
  'targetService': (string);
  'payload': (Buffer);
  'contentType': (string);
  'headers': ({[key: string]: string});
  'tenantId': (string);
  'priority': (_registry_v1_Priority__Output);
  'traceId': (string);
  'idempotencyKey': (string);
  'createTime': (_google_protobuf_Timestamp__Output | null);
  'sequence': (string);
  'traceContext': ({[key: string]: string});
}
