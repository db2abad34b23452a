// Original file: protos/registry/v1/heartbeat_service.proto


export interface HeartbeatBind {
  'serviceName'?: (string);
  'instanceId'?: (string);
  'takeOver'?: (boolean);
}

export interface HeartbeatBind__Output {
  'serviceName': (string);
  'instanceId': (string);
  'takeOver': (boolean);
}
