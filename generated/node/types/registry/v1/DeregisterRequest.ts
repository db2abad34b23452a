// Original file: protos/registry/v1/registry_service.proto


export interface DeregisterRequest {
  'serviceName'?: (string);
  'instanceId'?: (string);
}

export interface DeregisterRequest__Output {
  'serviceName': (string);
  'instanceId': (string);
}
