// Original file: protos/registry/v1/heartbeat_service.proto


export interface DrainInstanceRequest {
  'serviceName'?: (string);
  'instanceId'?: (string);
  'reason'?: (string);
}

export interface DrainInstanceRequest__Output {
  'serviceName': (string);
  'instanceId': (string);
  'reason': (string);
}
