// Original file: protos/registry/v1/instance.proto

import type { EndpointProtocol as _registry_v1_EndpointProtocol, EndpointProtocol__Output as _registry_v1_EndpointProtocol__Output } from '../../registry/v1/EndpointProtocol';

export interface Endpoint {
  'name'?: (string);
  'host'?: (string);
  'port'?: (number);
  'protocol'?: (_registry_v1_EndpointProtocol);
}

export interface Endpoint__Output {
  'name': (string);
  'host': (string);
  'port': (number);
  'protocol': (_registry_v1_EndpointProtocol__Output);
}
