// Original file: protos/registry/v1/registry_service.proto


export interface ListInstancesRequest {
  'serviceName'?: (string);
  'pageSize'?: (number);
  'pageToken'?: (string);
}

export interface ListInstancesRequest__Output {
  'serviceName': (string);
  'pageSize': (number);
  'pageToken': (string);
}
