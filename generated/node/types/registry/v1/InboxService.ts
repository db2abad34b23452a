// Original file: protos/registry/v1/inbox_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DeliverRequest as _registry_v1_DeliverRequest, DeliverRequest__Output as _registry_v1_DeliverRequest__Output } from '../../registry/v1/DeliverRequest';
import type { DeliverResponse as _registry_v1_DeliverResponse, DeliverResponse__Output as _registry_v1_DeliverResponse__Output } from '../../registry/v1/DeliverResponse';

export interface InboxServiceClient extends grpc.Client {
  Deliver(argument: _registry_v1_DeliverRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_DeliverResponse__Output>): grpc.ClientUnaryCall;
  Deliver(argument: _registry_v1_DeliverRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_DeliverResponse__Output>): grpc.ClientUnaryCall;
  Deliver(argument: _registry_v1_DeliverRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_DeliverResponse__Output>): grpc.ClientUnaryCall;
  Deliver(argument: _registry_v1_DeliverRequest, callback: grpc.requestCallback<_registry_v1_DeliverResponse__Output>): grpc.ClientUnaryCall;
  deliver(argument: _registry_v1_DeliverRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_DeliverResponse__Output>): grpc.ClientUnaryCall;
  deliver(argument: _registry_v1_DeliverRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_DeliverResponse__Output>): grpc.ClientUnaryCall;
  deliver(argument: _registry_v1_DeliverRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_DeliverResponse__Output>): grpc.ClientUnaryCall;
  deliver(argument: _registry_v1_DeliverRequest, callback: grpc.requestCallback<_registry_v1_DeliverResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface InboxServiceHandlers extends grpc.UntypedServiceImplementation {
  Deliver: grpc.handleUnaryCall<_registry_v1_DeliverRequest__Output, _registry_v1_DeliverResponse>;
  
}

export interface InboxServiceDefinition extends grpc.ServiceDefinition {
  Deliver: MethodDefinition<_registry_v1_DeliverRequest, _registry_v1_DeliverResponse, _registry_v1_DeliverRequest__Output, _registry_v1_DeliverResponse__Output>
}
