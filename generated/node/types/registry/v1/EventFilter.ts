// Original file: protos/registry/v1/relay_service.proto


export interface EventFilter {
  'topics'?: (string)[];
  'tenantId'?: (string);
  'sourceServices'?: (string)[];
  'targetServices'?: (string)[];
}

export interface EventFilter__Output {
  'topics': (string)[];
  'tenantId': (string);
  'sourceServices': (string)[];
  'targetServices': (string)[];
}
