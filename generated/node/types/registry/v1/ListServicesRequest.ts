// Original file: protos/registry/v1/registry_service.proto


export interface ListServicesRequest {
  'pageSize'?: (number);
  'pageToken'?: (string);
}

export interface ListServicesRequest__Output {
  'pageSize': (number);
  'pageToken': (string);
}
