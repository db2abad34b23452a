// Original file: protos/registry/v1/registry_service.proto


export interface GetInstanceRequest {
  'serviceName'?: (string);
  'instanceId'?: (string);
}

export interface GetInstanceRequest__Output {
  'serviceName': (string);
  'instanceId': (string);
}
