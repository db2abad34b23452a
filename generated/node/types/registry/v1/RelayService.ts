// Original file: protos/registry/v1/relay_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetDeliveryKeysRequest as _registry_v1_GetDeliveryKeysRequest, GetDeliveryKeysRequest__Output as _registry_v1_GetDeliveryKeysRequest__Output } from '../../registry/v1/GetDeliveryKeysRequest';
import type { GetDeliveryKeysResponse as _registry_v1_GetDeliveryKeysResponse, GetDeliveryKeysResponse__Output as _registry_v1_GetDeliveryKeysResponse__Output } from '../../registry/v1/GetDeliveryKeysResponse';
import type { ListEventsRequest as _registry_v1_ListEventsRequest, ListEventsRequest__Output as _registry_v1_ListEventsRequest__Output } from '../../registry/v1/ListEventsRequest';
import type { ListEventsResponse as _registry_v1_ListEventsResponse, ListEventsResponse__Output as _registry_v1_ListEventsResponse__Output } from '../../registry/v1/ListEventsResponse';
import type { PublishRequest as _registry_v1_PublishRequest, PublishRequest__Output as _registry_v1_PublishRequest__Output } from '../../registry/v1/PublishRequest';
import type { PublishResponse as _registry_v1_PublishResponse, PublishResponse__Output as _registry_v1_PublishResponse__Output } from '../../registry/v1/PublishResponse';
import type { SendRequest as _registry_v1_SendRequest, SendRequest__Output as _registry_v1_SendRequest__Output } from '../../registry/v1/SendRequest';
import type { SendResponse as _registry_v1_SendResponse, SendResponse__Output as _registry_v1_SendResponse__Output } from '../../registry/v1/SendResponse';
import type { SubscribeRequest as _registry_v1_SubscribeRequest, SubscribeRequest__Output as _registry_v1_SubscribeRequest__Output } from '../../registry/v1/SubscribeRequest';
import type { SubscribeResponse as _registry_v1_SubscribeResponse, SubscribeResponse__Output as _registry_v1_SubscribeResponse__Output } from '../../registry/v1/SubscribeResponse';

export interface RelayServiceClient extends grpc.Client {
  GetDeliveryKeys(argument: _registry_v1_GetDeliveryKeysRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetDeliveryKeysResponse__Output>): grpc.ClientUnaryCall;
  GetDeliveryKeys(argument: _registry_v1_GetDeliveryKeysRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_GetDeliveryKeysResponse__Output>): grpc.ClientUnaryCall;
  GetDeliveryKeys(argument: _registry_v1_GetDeliveryKeysRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetDeliveryKeysResponse__Output>): grpc.ClientUnaryCall;
  GetDeliveryKeys(argument: _registry_v1_GetDeliveryKeysRequest, callback: grpc.requestCallback<_registry_v1_GetDeliveryKeysResponse__Output>): grpc.ClientUnaryCall;
  getDeliveryKeys(argument: _registry_v1_GetDeliveryKeysRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetDeliveryKeysResponse__Output>): grpc.ClientUnaryCall;
  getDeliveryKeys(argument: _registry_v1_GetDeliveryKeysRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_GetDeliveryKeysResponse__Output>): grpc.ClientUnaryCall;
  getDeliveryKeys(argument: _registry_v1_GetDeliveryKeysRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_GetDeliveryKeysResponse__Output>): grpc.ClientUnaryCall;
  getDeliveryKeys(argument: _registry_v1_GetDeliveryKeysRequest, callback: grpc.requestCallback<_registry_v1_GetDeliveryKeysResponse__Output>): grpc.ClientUnaryCall;
  
  ListEvents(argument: _registry_v1_ListEventsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  ListEvents(argument: _registry_v1_ListEventsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  ListEvents(argument: _registry_v1_ListEventsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  ListEvents(argument: _registry_v1_ListEventsRequest, callback: grpc.requestCallback<_registry_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  listEvents(argument: _registry_v1_ListEventsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  listEvents(argument: _registry_v1_ListEventsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  listEvents(argument: _registry_v1_ListEventsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  listEvents(argument: _registry_v1_ListEventsRequest, callback: grpc.requestCallback<_registry_v1_ListEventsResponse__Output>): grpc.ClientUnaryCall;
  
  Publish(argument: _registry_v1_PublishRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_PublishResponse__Output>): grpc.ClientUnaryCall;
  Publish(argument: _registry_v1_PublishRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_PublishResponse__Output>): grpc.ClientUnaryCall;
  Publish(argument: _registry_v1_PublishRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_PublishResponse__Output>): grpc.ClientUnaryCall;
  Publish(argument: _registry_v1_PublishRequest, callback: grpc.requestCallback<_registry_v1_PublishResponse__Output>): grpc.ClientUnaryCall;
  publish(argument: _registry_v1_PublishRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_PublishResponse__Output>): grpc.ClientUnaryCall;
  publish(argument: _registry_v1_PublishRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_PublishResponse__Output>): grpc.ClientUnaryCall;
  publish(argument: _registry_v1_PublishRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_PublishResponse__Output>): grpc.ClientUnaryCall;
  publish(argument: _registry_v1_PublishRequest, callback: grpc.requestCallback<_registry_v1_PublishResponse__Output>): grpc.ClientUnaryCall;
  
  Send(argument: _registry_v1_SendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_SendResponse__Output>): grpc.ClientUnaryCall;
  Send(argument: _registry_v1_SendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_SendResponse__Output>): grpc.ClientUnaryCall;
  Send(argument: _registry_v1_SendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_SendResponse__Output>): grpc.ClientUnaryCall;
  Send(argument: _registry_v1_SendRequest, callback: grpc.requestCallback<_registry_v1_SendResponse__Output>): grpc.ClientUnaryCall;
  send(argument: _registry_v1_SendRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_SendResponse__Output>): grpc.ClientUnaryCall;
  send(argument: _registry_v1_SendRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_registry_v1_SendResponse__Output>): grpc.ClientUnaryCall;
  send(argument: _registry_v1_SendRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_registry_v1_SendResponse__Output>): grpc.ClientUnaryCall;
  send(argument: _registry_v1_SendRequest, callback: grpc.requestCallback<_registry_v1_SendResponse__Output>): grpc.ClientUnaryCall;
  
  Subscribe(argument: _registry_v1_SubscribeRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_v1_SubscribeResponse__Output>;
  Subscribe(argument: _registry_v1_SubscribeRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_v1_SubscribeResponse__Output>;
  subscribe(argument: _registry_v1_SubscribeRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_v1_SubscribeResponse__Output>;
  subscribe(argument: _registry_v1_SubscribeRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_registry_v1_SubscribeResponse__Output>;
  
}

export interface RelayServiceHandlers extends grpc.UntypedServiceImplementation {
  GetDeliveryKeys: grpc.handleUnaryCall<_registry_v1_GetDeliveryKeysRequest__Output, _registry_v1_GetDeliveryKeysResponse>;
  
  ListEvents: grpc.handleUnaryCall<_registry_v1_ListEventsRequest__Output, _registry_v1_ListEventsResponse>;
  
  Publish: grpc.handleUnaryCall<_registry_v1_PublishRequest__Output, _registry_v1_PublishResponse>;
  
  Send: grpc.handleUnaryCall<_registry_v1_SendRequest__Output, _registry_v1_SendResponse>;
  
  Subscribe: grpc.handleServerStreamingCall<_registry_v1_SubscribeRequest__Output, _registry_v1_SubscribeResponse>;
  
}

export interface RelayServiceDefinition extends grpc.ServiceDefinition {
  GetDeliveryKeys: MethodDefinition<_registry_v1_GetDeliveryKeysRequest, _registry_v1_GetDeliveryKeysResponse, _registry_v1_GetDeliveryKeysRequest__Output, _registry_v1_GetDeliveryKeysResponse__Output>
  ListEvents: MethodDefinition<_registry_v1_ListEventsRequest, _registry_v1_ListEventsResponse, _registry_v1_ListEventsRequest__Output, _registry_v1_ListEventsResponse__Output>
  Publish: MethodDefinition<_registry_v1_PublishRequest, _registry_v1_PublishResponse, _registry_v1_PublishRequest__Output, _registry_v1_PublishResponse__Output>
  Send: MethodDefinition<_registry_v1_SendRequest, _registry_v1_SendResponse, _registry_v1_SendRequest__Output, _registry_v1_SendResponse__Output>
  Subscribe: MethodDefinition<_registry_v1_SubscribeRequest, _registry_v1_SubscribeResponse, _registry_v1_SubscribeRequest__Output, _registry_v1_SubscribeResponse__Output>
}
