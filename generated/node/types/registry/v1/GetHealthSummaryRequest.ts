// Original file: protos/registry/v1/heartbeat_service.proto


export interface GetHealthSummaryRequest {
}

export interface GetHealthSummaryRequest__Output {
}
