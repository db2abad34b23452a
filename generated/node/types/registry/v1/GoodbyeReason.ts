// Original file: protos/registry/v1/heartbeat_service.proto

export const GoodbyeReason = {
  GOODBYE_REASON_UNSPECIFIED: 'GOODBYE_REASON_UNSPECIFIED',
  GOODBYE_REASON_DRAIN: 'GOODBYE_REASON_DRAIN',
  GOODBYE_REASON_STOP: 'GOODBYE_REASON_STOP',
} as const;

export type GoodbyeReason =
  | 'GOODBYE_REASON_UNSPECIFIED'
  | 0
  | 'GOODBYE_REASON_DRAIN'
  | 1
  | 'GOODBYE_REASON_STOP'
  | 2

export type GoodbyeReason__Output = typeof GoodbyeReason[keyof typeof GoodbyeReason]
