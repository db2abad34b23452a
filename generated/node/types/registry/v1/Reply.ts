// Original file: protos/registry/v1/envelope.proto


export interface Reply {
  'payload'?: (Buffer | Uint8Array | string);
  'contentType'?: (string);
  'headers'?: ({[key: string]: string});
}

export interface Reply__Output {
  'payload': (Buffer);
  'contentType': (string);
  'headers': ({[key: string]: string});
}
