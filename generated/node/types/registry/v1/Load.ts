// Original file: protos/registry/v1/heartbeat_service.proto


export interface Load {
  'inFlight'?: (number);
  'cpu'?: (number | string);
  'gauges'?: ({[key: string]: number | string});
}

export interface Load__Output {
  'inFlight': (number);
  'cpu': (number);
  'gauges': ({[key: string]: number});
}
