import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Duration as _google_protobuf_Duration, Duration__Output as _google_protobuf_Duration__Output } from './google/protobuf/Duration';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp';
import type { Beat as _registry_v1_Beat, Beat__Output as _registry_v1_Beat__Output } from './registry/v1/Beat';
import type { BeatAck as _registry_v1_BeatAck, BeatAck__Output as _registry_v1_BeatAck__Output } from './registry/v1/BeatAck';
import type { DeclaredDependency as _registry_v1_DeclaredDependency, DeclaredDependency__Output as _registry_v1_DeclaredDependency__Output } from './registry/v1/DeclaredDependency';
import type { DeliverRequest as _registry_v1_DeliverRequest, DeliverRequest__Output as _registry_v1_DeliverRequest__Output } from './registry/v1/DeliverRequest';
import type { DeliverResponse as _registry_v1_DeliverResponse, DeliverResponse__Output as _registry_v1_DeliverResponse__Output } from './registry/v1/DeliverResponse';
import type { Dependency as _registry_v1_Dependency, Dependency__Output as _registry_v1_Dependency__Output } from './registry/v1/Dependency';
import type { DependencyCycle as _registry_v1_DependencyCycle, DependencyCycle__Output as _registry_v1_DependencyCycle__Output } from './registry/v1/DependencyCycle';
import type { DependencyEdge as _registry_v1_DependencyEdge, DependencyEdge__Output as _registry_v1_DependencyEdge__Output } from './registry/v1/DependencyEdge';
import type { DependencyGraph as _registry_v1_DependencyGraph, DependencyGraph__Output as _registry_v1_DependencyGraph__Output } from './registry/v1/DependencyGraph';
import type { DeregisterRequest as _registry_v1_DeregisterRequest, DeregisterRequest__Output as _registry_v1_DeregisterRequest__Output } from './registry/v1/DeregisterRequest';
import type { DeregisterResponse as _registry_v1_DeregisterResponse, DeregisterResponse__Output as _registry_v1_DeregisterResponse__Output } from './registry/v1/DeregisterResponse';
import type { Directive as _registry_v1_Directive, Directive__Output as _registry_v1_Directive__Output } from './registry/v1/Directive';
import type { DrainInstanceRequest as _registry_v1_DrainInstanceRequest, DrainInstanceRequest__Output as _registry_v1_DrainInstanceRequest__Output } from './registry/v1/DrainInstanceRequest';
import type { DrainInstanceResponse as _registry_v1_DrainInstanceResponse, DrainInstanceResponse__Output as _registry_v1_DrainInstanceResponse__Output } from './registry/v1/DrainInstanceResponse';
import type { Endpoint as _registry_v1_Endpoint, Endpoint__Output as _registry_v1_Endpoint__Output } from './registry/v1/Endpoint';
import type { Envelope as _registry_v1_Envelope, Envelope__Output as _registry_v1_Envelope__Output } from './registry/v1/Envelope';
import type { EventFilter as _registry_v1_EventFilter, EventFilter__Output as _registry_v1_EventFilter__Output } from './registry/v1/EventFilter';
import type { GetDeliveryKeysRequest as _registry_v1_GetDeliveryKeysRequest, GetDeliveryKeysRequest__Output as _registry_v1_GetDeliveryKeysRequest__Output } from './registry/v1/GetDeliveryKeysRequest';
import type { GetDeliveryKeysResponse as _registry_v1_GetDeliveryKeysResponse, GetDeliveryKeysResponse__Output as _registry_v1_GetDeliveryKeysResponse__Output } from './registry/v1/GetDeliveryKeysResponse';
import type { GetDependencyGraphRequest as _registry_v1_GetDependencyGraphRequest, GetDependencyGraphRequest__Output as _registry_v1_GetDependencyGraphRequest__Output } from './registry/v1/GetDependencyGraphRequest';
import type { GetDependencyGraphResponse as _registry_v1_GetDependencyGraphResponse, GetDependencyGraphResponse__Output as _registry_v1_GetDependencyGraphResponse__Output } from './registry/v1/GetDependencyGraphResponse';
import type { GetHealthSummaryRequest as _registry_v1_GetHealthSummaryRequest, GetHealthSummaryRequest__Output as _registry_v1_GetHealthSummaryRequest__Output } from './registry/v1/GetHealthSummaryRequest';
import type { GetHealthSummaryResponse as _registry_v1_GetHealthSummaryResponse, GetHealthSummaryResponse__Output as _registry_v1_GetHealthSummaryResponse__Output } from './registry/v1/GetHealthSummaryResponse';
import type { GetInstanceHealthRequest as _registry_v1_GetInstanceHealthRequest, GetInstanceHealthRequest__Output as _registry_v1_GetInstanceHealthRequest__Output } from './registry/v1/GetInstanceHealthRequest';
import type { GetInstanceHealthResponse as _registry_v1_GetInstanceHealthResponse, GetInstanceHealthResponse__Output as _registry_v1_GetInstanceHealthResponse__Output } from './registry/v1/GetInstanceHealthResponse';
import type { GetInstanceRequest as _registry_v1_GetInstanceRequest, GetInstanceRequest__Output as _registry_v1_GetInstanceRequest__Output } from './registry/v1/GetInstanceRequest';
import type { GetInstanceResponse as _registry_v1_GetInstanceResponse, GetInstanceResponse__Output as _registry_v1_GetInstanceResponse__Output } from './registry/v1/GetInstanceResponse';
import type { GraphDifferences as _registry_v1_GraphDifferences, GraphDifferences__Output as _registry_v1_GraphDifferences__Output } from './registry/v1/GraphDifferences';
import type { GraphService as _registry_v1_GraphService, GraphService__Output as _registry_v1_GraphService__Output } from './registry/v1/GraphService';
import type { HeartbeatBind as _registry_v1_HeartbeatBind, HeartbeatBind__Output as _registry_v1_HeartbeatBind__Output } from './registry/v1/HeartbeatBind';
import type { HeartbeatBound as _registry_v1_HeartbeatBound, HeartbeatBound__Output as _registry_v1_HeartbeatBound__Output } from './registry/v1/HeartbeatBound';
import type { HeartbeatGoodbye as _registry_v1_HeartbeatGoodbye, HeartbeatGoodbye__Output as _registry_v1_HeartbeatGoodbye__Output } from './registry/v1/HeartbeatGoodbye';
import type { HeartbeatPolicy as _registry_v1_HeartbeatPolicy, HeartbeatPolicy__Output as _registry_v1_HeartbeatPolicy__Output } from './registry/v1/HeartbeatPolicy';
import type { HeartbeatRequest as _registry_v1_HeartbeatRequest, HeartbeatRequest__Output as _registry_v1_HeartbeatRequest__Output } from './registry/v1/HeartbeatRequest';
import type { HeartbeatResponse as _registry_v1_HeartbeatResponse, HeartbeatResponse__Output as _registry_v1_HeartbeatResponse__Output } from './registry/v1/HeartbeatResponse';
import type { HeartbeatServiceClient as _registry_v1_HeartbeatServiceClient, HeartbeatServiceDefinition as _registry_v1_HeartbeatServiceDefinition } from './registry/v1/HeartbeatService';
import type { ImpactedService as _registry_v1_ImpactedService, ImpactedService__Output as _registry_v1_ImpactedService__Output } from './registry/v1/ImpactedService';
import type { InboxServiceClient as _registry_v1_InboxServiceClient, InboxServiceDefinition as _registry_v1_InboxServiceDefinition } from './registry/v1/InboxService';
import type { Instance as _registry_v1_Instance, Instance__Output as _registry_v1_Instance__Output } from './registry/v1/Instance';
import type { InstanceHealth as _registry_v1_InstanceHealth, InstanceHealth__Output as _registry_v1_InstanceHealth__Output } from './registry/v1/InstanceHealth';
import type { ListEventsRequest as _registry_v1_ListEventsRequest, ListEventsRequest__Output as _registry_v1_ListEventsRequest__Output } from './registry/v1/ListEventsRequest';
import type { ListEventsResponse as _registry_v1_ListEventsResponse, ListEventsResponse__Output as _registry_v1_ListEventsResponse__Output } from './registry/v1/ListEventsResponse';
import type { ListInstanceHealthRequest as _registry_v1_ListInstanceHealthRequest, ListInstanceHealthRequest__Output as _registry_v1_ListInstanceHealthRequest__Output } from './registry/v1/ListInstanceHealthRequest';
import type { ListInstanceHealthResponse as _registry_v1_ListInstanceHealthResponse, ListInstanceHealthResponse__Output as _registry_v1_ListInstanceHealthResponse__Output } from './registry/v1/ListInstanceHealthResponse';
import type { ListInstancesRequest as _registry_v1_ListInstancesRequest, ListInstancesRequest__Output as _registry_v1_ListInstancesRequest__Output } from './registry/v1/ListInstancesRequest';
import type { ListInstancesResponse as _registry_v1_ListInstancesResponse, ListInstancesResponse__Output as _registry_v1_ListInstancesResponse__Output } from './registry/v1/ListInstancesResponse';
import type { ListServicesRequest as _registry_v1_ListServicesRequest, ListServicesRequest__Output as _registry_v1_ListServicesRequest__Output } from './registry/v1/ListServicesRequest';
import type { ListServicesResponse as _registry_v1_ListServicesResponse, ListServicesResponse__Output as _registry_v1_ListServicesResponse__Output } from './registry/v1/ListServicesResponse';
import type { Load as _registry_v1_Load, Load__Output as _registry_v1_Load__Output } from './registry/v1/Load';
import type { LookupRequest as _registry_v1_LookupRequest, LookupRequest__Output as _registry_v1_LookupRequest__Output } from './registry/v1/LookupRequest';
import type { LookupResponse as _registry_v1_LookupResponse, LookupResponse__Output as _registry_v1_LookupResponse__Output } from './registry/v1/LookupResponse';
import type { ObservedTraffic as _registry_v1_ObservedTraffic, ObservedTraffic__Output as _registry_v1_ObservedTraffic__Output } from './registry/v1/ObservedTraffic';
import type { PublishRequest as _registry_v1_PublishRequest, PublishRequest__Output as _registry_v1_PublishRequest__Output } from './registry/v1/PublishRequest';
import type { PublishResponse as _registry_v1_PublishResponse, PublishResponse__Output as _registry_v1_PublishResponse__Output } from './registry/v1/PublishResponse';
import type { RegisterRequest as _registry_v1_RegisterRequest, RegisterRequest__Output as _registry_v1_RegisterRequest__Output } from './registry/v1/RegisterRequest';
import type { RegisterResponse as _registry_v1_RegisterResponse, RegisterResponse__Output as _registry_v1_RegisterResponse__Output } from './registry/v1/RegisterResponse';
import type { RegistryServiceClient as _registry_v1_RegistryServiceClient, RegistryServiceDefinition as _registry_v1_RegistryServiceDefinition } from './registry/v1/RegistryService';
import type { RelayServiceClient as _registry_v1_RelayServiceClient, RelayServiceDefinition as _registry_v1_RelayServiceDefinition } from './registry/v1/RelayService';
import type { Reply as _registry_v1_Reply, Reply__Output as _registry_v1_Reply__Output } from './registry/v1/Reply';
import type { SendRequest as _registry_v1_SendRequest, SendRequest__Output as _registry_v1_SendRequest__Output } from './registry/v1/SendRequest';
import type { SendResponse as _registry_v1_SendResponse, SendResponse__Output as _registry_v1_SendResponse__Output } from './registry/v1/SendResponse';
import type { ServicePair as _registry_v1_ServicePair, ServicePair__Output as _registry_v1_ServicePair__Output } from './registry/v1/ServicePair';
import type { ServiceStatusCounts as _registry_v1_ServiceStatusCounts, ServiceStatusCounts__Output as _registry_v1_ServiceStatusCounts__Output } from './registry/v1/ServiceStatusCounts';
import type { ServiceSummary as _registry_v1_ServiceSummary, ServiceSummary__Output as _registry_v1_ServiceSummary__Output } from './registry/v1/ServiceSummary';
import type { StatusCount as _registry_v1_StatusCount, StatusCount__Output as _registry_v1_StatusCount__Output } from './registry/v1/StatusCount';
import type { StatusCounts as _registry_v1_StatusCounts, StatusCounts__Output as _registry_v1_StatusCounts__Output } from './registry/v1/StatusCounts';
import type { SubscribeRequest as _registry_v1_SubscribeRequest, SubscribeRequest__Output as _registry_v1_SubscribeRequest__Output } from './registry/v1/SubscribeRequest';
import type { SubscribeResponse as _registry_v1_SubscribeResponse, SubscribeResponse__Output as _registry_v1_SubscribeResponse__Output } from './registry/v1/SubscribeResponse';
import type { SubscriptionStarted as _registry_v1_SubscriptionStarted, SubscriptionStarted__Output as _registry_v1_SubscriptionStarted__Output } from './registry/v1/SubscriptionStarted';
import type { WatchEvent as _registry_v1_WatchEvent, WatchEvent__Output as _registry_v1_WatchEvent__Output } from './registry/v1/WatchEvent';
import type { WatchRequest as _registry_v1_WatchRequest, WatchRequest__Output as _registry_v1_WatchRequest__Output } from './registry/v1/WatchRequest';
import type { WatchResponse as _registry_v1_WatchResponse, WatchResponse__Output as _registry_v1_WatchResponse__Output } from './registry/v1/WatchResponse';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      Duration: MessageTypeDefinition<_google_protobuf_Duration, _google_protobuf_Duration__Output>
      Timestamp: MessageTypeDefinition<_google_protobuf_Timestamp, _google_protobuf_Timestamp__Output>
    }
  }
  registry: {
    v1: {
      Beat: MessageTypeDefinition<_registry_v1_Beat, _registry_v1_Beat__Output>
      BeatAck: MessageTypeDefinition<_registry_v1_BeatAck, _registry_v1_BeatAck__Output>
      DeclaredDependency: MessageTypeDefinition<_registry_v1_DeclaredDependency, _registry_v1_DeclaredDependency__Output>
      DeliverRequest: MessageTypeDefinition<_registry_v1_DeliverRequest, _registry_v1_DeliverRequest__Output>
      DeliverResponse: MessageTypeDefinition<_registry_v1_DeliverResponse, _registry_v1_DeliverResponse__Output>
      Dependency: MessageTypeDefinition<_registry_v1_Dependency, _registry_v1_Dependency__Output>
      DependencyCycle: MessageTypeDefinition<_registry_v1_DependencyCycle, _registry_v1_DependencyCycle__Output>
      DependencyEdge: MessageTypeDefinition<_registry_v1_DependencyEdge, _registry_v1_DependencyEdge__Output>
      DependencyGraph: MessageTypeDefinition<_registry_v1_DependencyGraph, _registry_v1_DependencyGraph__Output>
      DependencyKind: EnumTypeDefinition
      DeregisterRequest: MessageTypeDefinition<_registry_v1_DeregisterRequest, _registry_v1_DeregisterRequest__Output>
      DeregisterResponse: MessageTypeDefinition<_registry_v1_DeregisterResponse, _registry_v1_DeregisterResponse__Output>
      Directive: MessageTypeDefinition<_registry_v1_Directive, _registry_v1_Directive__Output>
      DirectiveType: EnumTypeDefinition
      DrainInstanceRequest: MessageTypeDefinition<_registry_v1_DrainInstanceRequest, _registry_v1_DrainInstanceRequest__Output>
      DrainInstanceResponse: MessageTypeDefinition<_registry_v1_DrainInstanceResponse, _registry_v1_DrainInstanceResponse__Output>
      Endpoint: MessageTypeDefinition<_registry_v1_Endpoint, _registry_v1_Endpoint__Output>
      EndpointProtocol: EnumTypeDefinition
      Envelope: MessageTypeDefinition<_registry_v1_Envelope, _registry_v1_Envelope__Output>
      EventFilter: MessageTypeDefinition<_registry_v1_EventFilter, _registry_v1_EventFilter__Output>
      GetDeliveryKeysRequest: MessageTypeDefinition<_registry_v1_GetDeliveryKeysRequest, _registry_v1_GetDeliveryKeysRequest__Output>
      GetDeliveryKeysResponse: MessageTypeDefinition<_registry_v1_GetDeliveryKeysResponse, _registry_v1_GetDeliveryKeysResponse__Output>
      GetDependencyGraphRequest: MessageTypeDefinition<_registry_v1_GetDependencyGraphRequest, _registry_v1_GetDependencyGraphRequest__Output>
      GetDependencyGraphResponse: MessageTypeDefinition<_registry_v1_GetDependencyGraphResponse, _registry_v1_GetDependencyGraphResponse__Output>
      GetHealthSummaryRequest: MessageTypeDefinition<_registry_v1_GetHealthSummaryRequest, _registry_v1_GetHealthSummaryRequest__Output>
      GetHealthSummaryResponse: MessageTypeDefinition<_registry_v1_GetHealthSummaryResponse, _registry_v1_GetHealthSummaryResponse__Output>
      GetInstanceHealthRequest: MessageTypeDefinition<_registry_v1_GetInstanceHealthRequest, _registry_v1_GetInstanceHealthRequest__Output>
      GetInstanceHealthResponse: MessageTypeDefinition<_registry_v1_GetInstanceHealthResponse, _registry_v1_GetInstanceHealthResponse__Output>
      GetInstanceRequest: MessageTypeDefinition<_registry_v1_GetInstanceRequest, _registry_v1_GetInstanceRequest__Output>
      GetInstanceResponse: MessageTypeDefinition<_registry_v1_GetInstanceResponse, _registry_v1_GetInstanceResponse__Output>
      GoodbyeReason: EnumTypeDefinition
      GraphDifferences: MessageTypeDefinition<_registry_v1_GraphDifferences, _registry_v1_GraphDifferences__Output>
      GraphEdgeKind: EnumTypeDefinition
      GraphService: MessageTypeDefinition<_registry_v1_GraphService, _registry_v1_GraphService__Output>
      GraphWindow: EnumTypeDefinition
      HealthStatus: EnumTypeDefinition
      HeartbeatBind: MessageTypeDefinition<_registry_v1_HeartbeatBind, _registry_v1_HeartbeatBind__Output>
      HeartbeatBound: MessageTypeDefinition<_registry_v1_HeartbeatBound, _registry_v1_HeartbeatBound__Output>
      HeartbeatGoodbye: MessageTypeDefinition<_registry_v1_HeartbeatGoodbye, _registry_v1_HeartbeatGoodbye__Output>
      HeartbeatPolicy: MessageTypeDefinition<_registry_v1_HeartbeatPolicy, _registry_v1_HeartbeatPolicy__Output>
      HeartbeatRequest: MessageTypeDefinition<_registry_v1_HeartbeatRequest, _registry_v1_HeartbeatRequest__Output>
      HeartbeatResponse: MessageTypeDefinition<_registry_v1_HeartbeatResponse, _registry_v1_HeartbeatResponse__Output>
      HeartbeatService: SubtypeConstructor<typeof grpc.Client, _registry_v1_HeartbeatServiceClient> & { service: _registry_v1_HeartbeatServiceDefinition }
      ImpactKind: EnumTypeDefinition
      ImpactedService: MessageTypeDefinition<_registry_v1_ImpactedService, _registry_v1_ImpactedService__Output>
      InboxService: SubtypeConstructor<typeof grpc.Client, _registry_v1_InboxServiceClient> & { service: _registry_v1_InboxServiceDefinition }
      Instance: MessageTypeDefinition<_registry_v1_Instance, _registry_v1_Instance__Output>
      InstanceHealth: MessageTypeDefinition<_registry_v1_InstanceHealth, _registry_v1_InstanceHealth__Output>
      ListEventsRequest: MessageTypeDefinition<_registry_v1_ListEventsRequest, _registry_v1_ListEventsRequest__Output>
      ListEventsResponse: MessageTypeDefinition<_registry_v1_ListEventsResponse, _registry_v1_ListEventsResponse__Output>
      ListInstanceHealthRequest: MessageTypeDefinition<_registry_v1_ListInstanceHealthRequest, _registry_v1_ListInstanceHealthRequest__Output>
      ListInstanceHealthResponse: MessageTypeDefinition<_registry_v1_ListInstanceHealthResponse, _registry_v1_ListInstanceHealthResponse__Output>
      ListInstancesRequest: MessageTypeDefinition<_registry_v1_ListInstancesRequest, _registry_v1_ListInstancesRequest__Output>
      ListInstancesResponse: MessageTypeDefinition<_registry_v1_ListInstancesResponse, _registry_v1_ListInstancesResponse__Output>
      ListServicesRequest: MessageTypeDefinition<_registry_v1_ListServicesRequest, _registry_v1_ListServicesRequest__Output>
      ListServicesResponse: MessageTypeDefinition<_registry_v1_ListServicesResponse, _registry_v1_ListServicesResponse__Output>
      Load: MessageTypeDefinition<_registry_v1_Load, _registry_v1_Load__Output>
      LoadBalancing: EnumTypeDefinition
      LookupRequest: MessageTypeDefinition<_registry_v1_LookupRequest, _registry_v1_LookupRequest__Output>
      LookupResponse: MessageTypeDefinition<_registry_v1_LookupResponse, _registry_v1_LookupResponse__Output>
      MessageType: EnumTypeDefinition
      ObservedTraffic: MessageTypeDefinition<_registry_v1_ObservedTraffic, _registry_v1_ObservedTraffic__Output>
      Priority: EnumTypeDefinition
      PublishRequest: MessageTypeDefinition<_registry_v1_PublishRequest, _registry_v1_PublishRequest__Output>
      PublishResponse: MessageTypeDefinition<_registry_v1_PublishResponse, _registry_v1_PublishResponse__Output>
      RegisterRequest: MessageTypeDefinition<_registry_v1_RegisterRequest, _registry_v1_RegisterRequest__Output>
      RegisterResponse: MessageTypeDefinition<_registry_v1_RegisterResponse, _registry_v1_RegisterResponse__Output>
      RegistryService: SubtypeConstructor<typeof grpc.Client, _registry_v1_RegistryServiceClient> & { service: _registry_v1_RegistryServiceDefinition }
      RelayService: SubtypeConstructor<typeof grpc.Client, _registry_v1_RelayServiceClient> & { service: _registry_v1_RelayServiceDefinition }
      Reply: MessageTypeDefinition<_registry_v1_Reply, _registry_v1_Reply__Output>
      SendRequest: MessageTypeDefinition<_registry_v1_SendRequest, _registry_v1_SendRequest__Output>
      SendResponse: MessageTypeDefinition<_registry_v1_SendResponse, _registry_v1_SendResponse__Output>
      ServicePair: MessageTypeDefinition<_registry_v1_ServicePair, _registry_v1_ServicePair__Output>
      ServiceStatusCounts: MessageTypeDefinition<_registry_v1_ServiceStatusCounts, _registry_v1_ServiceStatusCounts__Output>
      ServiceSummary: MessageTypeDefinition<_registry_v1_ServiceSummary, _registry_v1_ServiceSummary__Output>
      StatusCount: MessageTypeDefinition<_registry_v1_StatusCount, _registry_v1_StatusCount__Output>
      StatusCounts: MessageTypeDefinition<_registry_v1_StatusCounts, _registry_v1_StatusCounts__Output>
      SubscribeRequest: MessageTypeDefinition<_registry_v1_SubscribeRequest, _registry_v1_SubscribeRequest__Output>
      SubscribeResponse: MessageTypeDefinition<_registry_v1_SubscribeResponse, _registry_v1_SubscribeResponse__Output>
      SubscriptionStarted: MessageTypeDefinition<_registry_v1_SubscriptionStarted, _registry_v1_SubscriptionStarted__Output>
      WatchEvent: MessageTypeDefinition<_registry_v1_WatchEvent, _registry_v1_WatchEvent__Output>
      WatchEventType: EnumTypeDefinition
      WatchRequest: MessageTypeDefinition<_registry_v1_WatchRequest, _registry_v1_WatchRequest__Output>
      WatchResponse: MessageTypeDefinition<_registry_v1_WatchResponse, _registry_v1_WatchResponse__Output>
      WatchResponseKind: EnumTypeDefinition
    }
  }
}

