// Original file: protos/registry/v1/relay_service.proto


export interface GetDeliveryKeysResponse {
  'jwks'?: (string);
  'issuer'?: (string);
}

export interface GetDeliveryKeysResponse__Output {
  'jwks': (string);
  'issuer': (string);
}
