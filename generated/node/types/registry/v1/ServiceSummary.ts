// Original file: protos/registry/v1/registry_service.proto


export interface ServiceSummary {
  'serviceName'?: (string);
  'instanceCount'?: (number);
  'servingCount'?: (number);
}

export interface ServiceSummary__Output {
  'serviceName': (string);
  'instanceCount': (number);
  'servingCount': (number);
}
