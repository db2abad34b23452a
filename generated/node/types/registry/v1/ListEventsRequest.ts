// Original file: protos/registry/v1/relay_service.proto

import type { EventFilter as _registry_v1_EventFilter, EventFilter__Output as _registry_v1_EventFilter__Output } from '../../registry/v1/EventFilter';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { Long } from '@grpc/proto-loader';

export interface ListEventsRequest {
  'filter'?: (_registry_v1_EventFilter | null);
  'afterSequence'?: (number | string | Long);
  'startTime'?: (_google_protobuf_Timestamp | null);
  'endTime'?: (_google_protobuf_Timestamp | null);
  'newestFirst'?: (boolean);
  'pageSize'?: (number);
  'pageToken'?: (string);
}

export interface ListEventsRequest__Output {
  'filter': (_registry_v1_EventFilter__Output | null);
  'afterSequence': (string);
  'startTime': (_google_protobuf_Timestamp__Output | null);
  'endTime': (_google_protobuf_Timestamp__Output | null);
  'newestFirst': (boolean);
  'pageSize': (number);
  'pageToken': (string);
}
