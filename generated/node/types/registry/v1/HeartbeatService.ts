// Original file: protos/registry/v1/heartbeat_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DrainInstanceRequest as _registry_v1_DrainInstanceRequest, DrainInstanceRequest__Output as _registry_v1_DrainInstanceRequest__Output } from '../../registry/v1/DrainInstanceRequest';
import type { DrainInstanceResponse as _registry_v1_DrainInstanceResponse, DrainInstanceResponse__Output as _registry_v1_DrainInstanceResponse__Output } from '../../registry/v1/DrainInstanceResponse';
import type { GetHealthSummaryRequest as _registry_v1_GetHealthSummaryRequest, GetHealthSummaryRequest__Output as _registry_v1_GetHealthSummaryRequest__Output } from '../../registry/v1/GetHealthSummaryRequest';
import type { GetHealthSummaryResponse as _registry_v1_GetHealthSummaryResponse, GetHealthSummaryResponse__Output as _registry_v1_GetHealthSummaryResponse__Output } from '../../registry/v1/GetHealthSummaryResponse';
import type { GetInstanceHealthRequest as _registry_v1_GetInstanceHealthRequest, GetInstanceHealthRequest__Output as _registry_v1_GetInstanceHealthRequest__Output } from '../../registry/v1/GetInstanceHealthRequest';
import type { GetInstanceHealthResponse as _registry_v1_GetInstanceHealthResponse, GetInstanceHealthResponse__Output as _registry_v1_GetInstanceHealthResponse__Output } from '../../registry/v1/GetInstanceHealthResponse';
import type { HeartbeatRequest as _registry_v1_HeartbeatRequest, HeartbeatRequest__Output as _registry_v1_HeartbeatRequest__Output } from '../../registry/v1/HeartbeatRequest';
import type { HeartbeatResponse as _registry_v1_HeartbeatResponse, HeartbeatResponse__Output as _registry_v1_HeartbeatResponse__Output } from '../../registry/v1/HeartbeatResponse';
import type { ListInstanceHealthRequest as _registry_v1_ListInstanceHealthRequest, ListInstanceHealthRequest__Output as _registry_v1_ListInstanceHealthRequest__Output } from '../../registry/v1/ListInstanceHealthRequest';
import type { ListInstanceHealthResponse as _registry_v1_ListInstanceHealthResponse, ListInstanceHealthResponse__Output as _registry_v1_ListInstanceHealthResponse__Output } from '../../registry/v1/ListInstanceHealthResponse';

export interface HeartbeatServiceClient extends grpc.Client {
  DrainInstance(argument: _registry_v1_DrainInstanceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_DrainInstanceResponse__Output>): grpc.ClientUnaryCall;
  DrainInstance(argument: _registry_v1_DrainInstanceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_DrainInstanceResponse__Output>): grpc.ClientUnaryCall;
  DrainInstance(argument: _registry_v1_DrainInstanceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_DrainInstanceResponse__Output>): grpc.ClientUnaryCall;
  DrainInstance(argument: _registry_v1_DrainInstanceRequest, callback: grpc.requestCallback<_registry_v1_DrainInstanceResponse__Output>): grpc.ClientUnaryCall;
  drainInstance(argument: _registry_v1_DrainInstanceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_DrainInstanceResponse__Output>): grpc.ClientUnaryCall;
  drainInstance(argument: _registry_v1_DrainInstanceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_DrainInstanceResponse__Output>): grpc.ClientUnaryCall;
  drainInstance(argument: _registry_v1_DrainInstanceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_DrainInstanceResponse__Output>): grpc.ClientUnaryCall;
  drainInstance(argument: _registry_v1_DrainInstanceRequest, callback: grpc.requestCallback<_registry_v1_DrainInstanceResponse__Output>): grpc.ClientUnaryCall;
  
  GetHealthSummary(argument: _registry_v1_GetHealthSummaryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetHealthSummaryResponse__Output>): grpc.ClientUnaryCall;
  GetHealthSummary(argument: _registry_v1_GetHealthSummaryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_GetHealthSummaryResponse__Output>): grpc.ClientUnaryCall;
  GetHealthSummary(argument: _registry_v1_GetHealthSummaryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetHealthSummaryResponse__Output>): grpc.ClientUnaryCall;
  GetHealthSummary(argument: _registry_v1_GetHealthSummaryRequest, callback: grpc.requestCallback<_registry_v1_GetHealthSummaryResponse__Output>): grpc.ClientUnaryCall;
  getHealthSummary(argument: _registry_v1_GetHealthSummaryRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetHealthSummaryResponse__Output>): grpc.ClientUnaryCall;
  getHealthSummary(argument: _registry_v1_GetHealthSummaryRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_GetHealthSummaryResponse__Output>): grpc.ClientUnaryCall;
  getHealthSummary(argument: _registry_v1_GetHealthSummaryRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetHealthSummaryResponse__Output>): grpc.ClientUnaryCall;
  getHealthSummary(argument: _registry_v1_GetHealthSummaryRequest, callback: grpc.requestCallback<_registry_v1_GetHealthSummaryResponse__Output>): grpc.ClientUnaryCall;
  
  GetInstanceHealth(argument: _registry_v1_GetInstanceHealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  GetInstanceHealth(argument: _registry_v1_GetInstanceHealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_GetInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  GetInstanceHealth(argument: _registry_v1_GetInstanceHealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  GetInstanceHealth(argument: _registry_v1_GetInstanceHealthRequest, callback: grpc.requestCallback<_registry_v1_GetInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  getInstanceHealth(argument: _registry_v1_GetInstanceHealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  getInstanceHealth(argument: _registry_v1_GetInstanceHealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_GetInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  getInstanceHealth(argument: _registry_v1_GetInstanceHealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  getInstanceHealth(argument: _registry_v1_GetInstanceHealthRequest, callback: grpc.requestCallback<_registry_v1_GetInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  
  Heartbeat(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_registry_v1_HeartbeatRequest, _registry_v1_HeartbeatResponse__Output>;
  Heartbeat(options?: grpc.CallOptions): grpc.ClientDuplexStream<_registry_v1_HeartbeatRequest, _registry_v1_HeartbeatResponse__Output>;
  heartbeat(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_registry_v1_HeartbeatRequest, _registry_v1_HeartbeatResponse__Output>;
  heartbeat(options?: grpc.CallOptions): grpc.ClientDuplexStream<_registry_v1_HeartbeatRequest, _registry_v1_HeartbeatResponse__Output>;
  
  ListInstanceHealth(argument: _registry_v1_ListInstanceHealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  ListInstanceHealth(argument: _registry_v1_ListInstanceHealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_ListInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  ListInstanceHealth(argument: _registry_v1_ListInstanceHealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  ListInstanceHealth(argument: _registry_v1_ListInstanceHealthRequest, callback: grpc.requestCallback<_registry_v1_ListInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  listInstanceHealth(argument: _registry_v1_ListInstanceHealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  listInstanceHealth(argument: _registry_v1_ListInstanceHealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_ListInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  listInstanceHealth(argument: _registry_v1_ListInstanceHealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  listInstanceHealth(argument: _registry_v1_ListInstanceHealthRequest, callback: grpc.requestCallback<_registry_v1_ListInstanceHealthResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface HeartbeatServiceHandlers extends grpc.UntypedServiceImplementation {
  DrainInstance: grpc.handleUnaryCall<_registry_v1_DrainInstanceRequest__Output, _registry_v1_DrainInstanceResponse>;
  
  GetHealthSummary: grpc.handleUnaryCall<_registry_v1_GetHealthSummaryRequest__Output, _registry_v1_GetHealthSummaryResponse>;
  
  GetInstanceHealth: grpc.handleUnaryCall<_registry_v1_GetInstanceHealthRequest__Output, _registry_v1_GetInstanceHealthResponse>;
  
  Heartbeat: grpc.handleBidiStreamingCall<_registry_v1_HeartbeatRequest__Output, _registry_v1_HeartbeatResponse>;
  
  ListInstanceHealth: grpc.handleUnaryCall<_registry_v1_ListInstanceHealthRequest__Output, _registry_v1_ListInstanceHealthResponse>;
  
}

export interface HeartbeatServiceDefinition extends grpc.ServiceDefinition {
  DrainInstance: MethodDefinition<_registry_v1_DrainInstanceRequest, _registry_v1_DrainInstanceResponse, _registry_v1_DrainInstanceRequest__Output, _registry_v1_DrainInstanceResponse__Output>
  GetHealthSummary: MethodDefinition<_registry_v1_GetHealthSummaryRequest, _registry_v1_GetHealthSummaryResponse, _registry_v1_GetHealthSummaryRequest__Output, _registry_v1_GetHealthSummaryResponse__Output>
  GetInstanceHealth: MethodDefinition<_registry_v1_GetInstanceHealthRequest, _registry_v1_GetInstanceHealthResponse, _registry_v1_GetInstanceHealthRequest__Output, _registry_v1_GetInstanceHealthResponse__Output>
  Heartbeat: MethodDefinition<_registry_v1_HeartbeatRequest, _registry_v1_HeartbeatResponse, _registry_v1_HeartbeatRequest__Output, _registry_v1_HeartbeatResponse__Output>
  ListInstanceHealth: MethodDefinition<_registry_v1_ListInstanceHealthRequest, _registry_v1_ListInstanceHealthResponse, _registry_v1_ListInstanceHealthRequest__Output, _registry_v1_ListInstanceHealthResponse__Output>
}
