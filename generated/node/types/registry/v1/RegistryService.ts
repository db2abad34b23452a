// Original file: protos/registry/v1/registry_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DeregisterRequest as _registry_v1_DeregisterRequest, DeregisterRequest__Output as _registry_v1_DeregisterRequest__Output } from '../../registry/v1/DeregisterRequest';
import type { DeregisterResponse as _registry_v1_DeregisterResponse, DeregisterResponse__Output as _registry_v1_DeregisterResponse__Output } from '../../registry/v1/DeregisterResponse';
import type { GetDependencyGraphRequest as _registry_v1_GetDependencyGraphRequest, GetDependencyGraphRequest__Output as _registry_v1_GetDependencyGraphRequest__Output } from '../../registry/v1/GetDependencyGraphRequest';
import type { GetDependencyGraphResponse as _registry_v1_GetDependencyGraphResponse, GetDependencyGraphResponse__Output as _registry_v1_GetDependencyGraphResponse__Output } from '../../registry/v1/GetDependencyGraphResponse';
import type { GetInstanceRequest as _registry_v1_GetInstanceRequest, GetInstanceRequest__Output as _registry_v1_GetInstanceRequest__Output } from '../../registry/v1/GetInstanceRequest';
import type { GetInstanceResponse as _registry_v1_GetInstanceResponse, GetInstanceResponse__Output as _registry_v1_GetInstanceResponse__Output } from '../../registry/v1/GetInstanceResponse';
import type { ListInstancesRequest as _registry_v1_ListInstancesRequest, ListInstancesRequest__Output as _registry_v1_ListInstancesRequest__Output } from '../../registry/v1/ListInstancesRequest';
import type { ListInstancesResponse as _registry_v1_ListInstancesResponse, ListInstancesResponse__Output as _registry_v1_ListInstancesResponse__Output } from '../../registry/v1/ListInstancesResponse';
import type { ListServicesRequest as _registry_v1_ListServicesRequest, ListServicesRequest__Output as _registry_v1_ListServicesRequest__Output } from '../../registry/v1/ListServicesRequest';
import type { ListServicesResponse as _registry_v1_ListServicesResponse, ListServicesResponse__Output as _registry_v1_ListServicesResponse__Output } from '../../registry/v1/ListServicesResponse';
import type { LookupRequest as _registry_v1_LookupRequest, LookupRequest__Output as _registry_v1_LookupRequest__Output } from '../../registry/v1/LookupRequest';
import type { LookupResponse as _registry_v1_LookupResponse, LookupResponse__Output as _registry_v1_LookupResponse__Output } from '../../registry/v1/LookupResponse';
import type { RegisterRequest as _registry_v1_RegisterRequest, RegisterRequest__Output as _registry_v1_RegisterRequest__Output } from '../../registry/v1/RegisterRequest';
import type { RegisterResponse as _registry_v1_RegisterResponse, RegisterResponse__Output as _registry_v1_RegisterResponse__Output } from '../../registry/v1/RegisterResponse';
import type { WatchRequest as _registry_v1_WatchRequest, WatchRequest__Output as _registry_v1_WatchRequest__Output } from '../../registry/v1/WatchRequest';
import type { WatchResponse as _registry_v1_WatchResponse, WatchResponse__Output as _registry_v1_WatchResponse__Output } from '../../registry/v1/WatchResponse';

export interface RegistryServiceClient extends grpc.Client {
  Deregister(argument: _registry_v1_DeregisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  Deregister(argument: _registry_v1_DeregisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  Deregister(argument: _registry_v1_DeregisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  Deregister(argument: _registry_v1_DeregisterRequest, callback: grpc.requestCallback<_registry_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  deregister(argument: _registry_v1_DeregisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  deregister(argument: _registry_v1_DeregisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  deregister(argument: _registry_v1_DeregisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  deregister(argument: _registry_v1_DeregisterRequest, callback: grpc.requestCallback<_registry_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  
  GetDependencyGraph(argument: _registry_v1_GetDependencyGraphRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetDependencyGraphResponse__Output>): grpc.ClientUnaryCall;
  GetDependencyGraph(argument: _registry_v1_GetDependencyGraphRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_GetDependencyGraphResponse__Output>): grpc.ClientUnaryCall;
  GetDependencyGraph(argument: _registry_v1_GetDependencyGraphRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetDependencyGraphResponse__Output>): grpc.ClientUnaryCall;
  GetDependencyGraph(argument: _registry_v1_GetDependencyGraphRequest, callback: grpc.requestCallback<_registry_v1_GetDependencyGraphResponse__Output>): grpc.ClientUnaryCall;
  getDependencyGraph(argument: _registry_v1_GetDependencyGraphRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetDependencyGraphResponse__Output>): grpc.ClientUnaryCall;
  getDependencyGraph(argument: _registry_v1_GetDependencyGraphRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_GetDependencyGraphResponse__Output>): grpc.ClientUnaryCall;
  getDependencyGraph(argument: _registry_v1_GetDependencyGraphRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetDependencyGraphResponse__Output>): grpc.ClientUnaryCall;
  getDependencyGraph(argument: _registry_v1_GetDependencyGraphRequest, callback: grpc.requestCallback<_registry_v1_GetDependencyGraphResponse__Output>): grpc.ClientUnaryCall;
  
  GetInstance(argument: _registry_v1_GetInstanceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetInstanceResponse__Output>): grpc.ClientUnaryCall;
  GetInstance(argument: _registry_v1_GetInstanceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_GetInstanceResponse__Output>): grpc.ClientUnaryCall;
  GetInstance(argument: _registry_v1_GetInstanceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetInstanceResponse__Output>): grpc.ClientUnaryCall;
  GetInstance(argument: _registry_v1_GetInstanceRequest, callback: grpc.requestCallback<_registry_v1_GetInstanceResponse__Output>): grpc.ClientUnaryCall;
  getInstance(argument: _registry_v1_GetInstanceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetInstanceResponse__Output>): grpc.ClientUnaryCall;
  getInstance(argument: _registry_v1_GetInstanceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_GetInstanceResponse__Output>): grpc.ClientUnaryCall;
  getInstance(argument: _registry_v1_GetInstanceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetInstanceResponse__Output>): grpc.ClientUnaryCall;
  getInstance(argument: _registry_v1_GetInstanceRequest, callback: grpc.requestCallback<_registry_v1_GetInstanceResponse__Output>): grpc.ClientUnaryCall;
  
  ListInstances(argument: _registry_v1_ListInstancesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListInstancesResponse__Output>): grpc.ClientUnaryCall;
  ListInstances(argument: _registry_v1_ListInstancesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_ListInstancesResponse__Output>): grpc.ClientUnaryCall;
  ListInstances(argument: _registry_v1_ListInstancesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListInstancesResponse__Output>): grpc.ClientUnaryCall;
  ListInstances(argument: _registry_v1_ListInstancesRequest, callback: grpc.requestCallback<_registry_v1_ListInstancesResponse__Output>): grpc.ClientUnaryCall;
  listInstances(argument: _registry_v1_ListInstancesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListInstancesResponse__Output>): grpc.ClientUnaryCall;
  listInstances(argument: _registry_v1_ListInstancesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_ListInstancesResponse__Output>): grpc.ClientUnaryCall;
  listInstances(argument: _registry_v1_ListInstancesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListInstancesResponse__Output>): grpc.ClientUnaryCall;
  listInstances(argument: _registry_v1_ListInstancesRequest, callback: grpc.requestCallback<_registry_v1_ListInstancesResponse__Output>): grpc.ClientUnaryCall;
  
  ListServices(argument: _registry_v1_ListServicesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  ListServices(argument: _registry_v1_ListServicesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  ListServices(argument: _registry_v1_ListServicesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  ListServices(argument: _registry_v1_ListServicesRequest, callback: grpc.requestCallback<_registry_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _registry_v1_ListServicesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _registry_v1_ListServicesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _registry_v1_ListServicesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  listServices(argument: _registry_v1_ListServicesRequest, callback: grpc.requestCallback<_registry_v1_ListServicesResponse__Output>): grpc.ClientUnaryCall;
  
  Lookup(argument: _registry_v1_LookupRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  Lookup(argument: _registry_v1_LookupRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  Lookup(argument: _registry_v1_LookupRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  Lookup(argument: _registry_v1_LookupRequest, callback: grpc.requestCallback<_registry_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  lookup(argument: _registry_v1_LookupRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  lookup(argument: _registry_v1_LookupRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  lookup(argument: _registry_v1_LookupRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  lookup(argument: _registry_v1_LookupRequest, callback: grpc.requestCallback<_registry_v1_LookupResponse__Output>): grpc.ClientUnaryCall;
  
  Register(argument: _registry_v1_RegisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  Register(argument: _registry_v1_RegisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  Register(argument: _registry_v1_RegisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  Register(argument: _registry_v1_RegisterRequest, callback: grpc.requestCallback<_registry_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _registry_v1_RegisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _registry_v1_RegisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _registry_v1_RegisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _registry_v1_RegisterRequest, callback: grpc.requestCallback<_registry_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  
  Watch(argument: _registry_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_v1_WatchResponse__Output>;
  Watch(argument: _registry_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_v1_WatchResponse__Output>;
  watch(argument: _registry_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_v1_WatchResponse__Output>;
  watch(argument: _registry_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_v1_WatchResponse__Output>;
  
}

export interface RegistryServiceHandlers extends grpc.UntypedServiceImplementation {
  Deregister: grpc.handleUnaryCall<_registry_v1_DeregisterRequest__Output, _registry_v1_DeregisterResponse>;
  
  GetDependencyGraph: grpc.handleUnaryCall<_registry_v1_GetDependencyGraphRequest__Output, _registry_v1_GetDependencyGraphResponse>;
  
  GetInstance: grpc.handleUnaryCall<_registry_v1_GetInstanceRequest__Output, _registry_v1_GetInstanceResponse>;
  
  ListInstances: grpc.handleUnaryCall<_registry_v1_ListInstancesRequest__Output, _registry_v1_ListInstancesResponse>;
  
  ListServices: grpc.handleUnaryCall<_registry_v1_ListServicesRequest__Output, _registry_v1_ListServicesResponse>;
  
  Lookup: grpc.handleUnaryCall<_registry_v1_LookupRequest__Output, _registry_v1_LookupResponse>;
  
  Register: grpc.handleUnaryCall<_registry_v1_RegisterRequest__Output, _registry_v1_RegisterResponse>;
  
  Watch: grpc.handleServerStreamingCall<_registry_v1_WatchRequest__Output, _registry_v1_WatchResponse>;
  
}

export interface RegistryServiceDefinition extends grpc.ServiceDefinition {
  Deregister: MethodDefinition<_registry_v1_DeregisterRequest, _registry_v1_DeregisterResponse, _registry_v1_DeregisterRequest__Output, _registry_v1_DeregisterResponse__Output>
  GetDependencyGraph: MethodDefinition<_registry_v1_GetDependencyGraphRequest, _registry_v1_GetDependencyGraphResponse, _registry_v1_GetDependencyGraphRequest__Output, _registry_v1_GetDependencyGraphResponse__Output>
  GetInstance: MethodDefinition<_registry_v1_GetInstanceRequest, _registry_v1_GetInstanceResponse, _registry_v1_GetInstanceRequest__Output, _registry_v1_GetInstanceResponse__Output>
  ListInstances: MethodDefinition<_registry_v1_ListInstancesRequest, _registry_v1_ListInstancesResponse, _registry_v1_ListInstancesRequest__Output, _registry_v1_ListInstancesResponse__Output>
  ListServices: MethodDefinition<_registry_v1_ListServicesRequest, _registry_v1_ListServicesResponse, _registry_v1_ListServicesRequest__Output, _registry_v1_ListServicesResponse__Output>
  Lookup: MethodDefinition<_registry_v1_LookupRequest, _registry_v1_LookupResponse, _registry_v1_LookupRequest__Output, _registry_v1_LookupResponse__Output>
  Register: MethodDefinition<_registry_v1_RegisterRequest, _registry_v1_RegisterResponse, _registry_v1_RegisterRequest__Output, _registry_v1_RegisterResponse__Output>
  Watch: MethodDefinition<_registry_v1_WatchRequest, _registry_v1_WatchResponse, _registry_v1_WatchRequest__Output, _registry_v1_WatchResponse__Output>
}
