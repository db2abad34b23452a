// Original file: protos/registry/v1/relay_service.proto


export interface GetDeliveryKeysRequest {
}

export interface GetDeliveryKeysRequest__Output {
}
