// Original file: protos/registry/v1/heartbeat_service.proto


export interface DrainInstanceResponse {
  'directiveSent'?: (boolean);
}

export interface DrainInstanceResponse__Output {
  'directiveSent': (boolean);
}
