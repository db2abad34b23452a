// Original file: protos/registry/v1/heartbeat_service.proto


export interface GetInstanceHealthRequest {
  'serviceName'?: (string);
  'instanceId'?: (string);
}

export interface GetInstanceHealthRequest__Output {
  'serviceName': (string);
  'instanceId': (string);
}
