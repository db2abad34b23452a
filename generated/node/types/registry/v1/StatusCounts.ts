// Original file: protos/registry/v1/heartbeat_service.proto


export interface StatusCounts {
  'unknown'?: (number);
  'healthy'?: (number);
  'degraded'?: (number);
  'critical'?: (number);
  'dead'?: (number);
  'draining'?: (number);
}

export interface StatusCounts__Output {
  'unknown': (number);
  'healthy': (number);
  'degraded': (number);
  'critical': (number);
  'dead': (number);
  'draining': (number);
}
