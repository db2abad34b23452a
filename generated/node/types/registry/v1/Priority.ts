// Original file: protos/registry/v1/envelope.proto

export const Priority = {
  PRIORITY_UNSPECIFIED: 'PRIORITY_UNSPECIFIED',
  PRIORITY_LOW: 'PRIORITY_LOW',
  PRIORITY_NORMAL: 'PRIORITY_NORMAL',
  PRIORITY_HIGH: 'PRIORITY_HIGH',
  PRIORITY_CRITICAL: 'PRIORITY_CRITICAL',
} as const;

export type Priority =
  | 'PRIORITY_UNSPECIFIED'
  | 0
  | 'PRIORITY_LOW'
  | 1
  | 'PRIORITY_NORMAL'
  | 2
  | 'PRIORITY_HIGH'
  | 3
  | 'PRIORITY_CRITICAL'
  | 4

export type Priority__Output = typeof Priority[keyof typeof Priority]
