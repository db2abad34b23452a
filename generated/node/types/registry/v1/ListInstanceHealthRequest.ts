// Original file: protos/registry/v1/heartbeat_service.proto


export interface ListInstanceHealthRequest {
  'serviceName'?: (string);
  'pageSize'?: (number);
  'pageToken'?: (string);
}

export interface ListInstanceHealthRequest__Output {
  'serviceName': (string);
  'pageSize': (number);
  'pageToken': (string);
}
