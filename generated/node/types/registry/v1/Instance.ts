// Original file: protos/registry/v1/instance.proto

import type { Endpoint as _registry_v1_Endpoint, Endpoint__Output as _registry_v1_Endpoint__Output } from '../../registry/v1/Endpoint';
import type { Dependency as _registry_v1_Dependency, Dependency__Output as _registry_v1_Dependency__Output } from '../../registry/v1/Dependency';
import type { HeartbeatPolicy as _registry_v1_HeartbeatPolicy, HeartbeatPolicy__Output as _registry_v1_HeartbeatPolicy__Output } from '../../registry/v1/HeartbeatPolicy';
import type { HealthStatus as _registry_v1_HealthStatus, HealthStatus__Output as _registry_v1_HealthStatus__Output } from '../../registry/v1/HealthStatus';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp';
import type { Long } from '@grpc/proto-loader';

export interface Instance {
  'name'?: (string);
  'serviceName'?: (string);
  'instanceId'?: (string);
  'endpoints'?: (_registry_v1_Endpoint)[];
  'version'?: (string);
  'tags'?: (string)[];
  'metadata'?: ({[key: string]: string});
  'zone'?: (string);
  'weight'?: (number);
  'dependencies'?: (_registry_v1_Dependency)[];
  'heartbeatPolicy'?: (_registry_v1_HeartbeatPolicy | null);
  'status'?: (_registry_v1_HealthStatus);
  'createTime'?: (_google_protobuf_Timestamp | null);
  'updateTime'?: (_google_protobuf_Timestamp | null);
  'statusTime'?: (_google_protobuf_Timestamp | null);
  'createRevision'?: (number | string | Long);
  'modRevision'?: (number | string | Long);
}

export interface Instance__Output {
  'name': (string);
  'serviceName': (string);
  'instanceId': (string);
  'endpoints': (_registry_v1_Endpoint__Output)[];
  'version': (string);
  'tags': (string)[];
  'metadata': ({[key: string]: string});
  'zone': (string);
  'weight': (number);
  'dependencies': (_registry_v1_Dependency__Output)[];
  'heartbeatPolicy': (_registry_v1_HeartbeatPolicy__Output | null);
  'status': (_registry_v1_HealthStatus__Output);
  'createTime': (_google_protobuf_Timestamp__Output | null);
  'updateTime': (_google_protobuf_Timestamp__Output | null);
  'statusTime': (_google_protobuf_Timestamp__Output | null);
  'createRevision': (string);
  'modRevision': (string);
}
