// Original file: protos/registry/v1/heartbeat_service.proto

export const DirectiveType = {
  DIRECTIVE_TYPE_UNSPECIFIED: 'DIRECTIVE_TYPE_UNSPECIFIED',
  DIRECTIVE_TYPE_SET_INTERVAL: 'DIRECTIVE_TYPE_SET_INTERVAL',
  DIRECTIVE_TYPE_REREGISTER: 'DIRECTIVE_TYPE_REREGISTER',
  DIRECTIVE_TYPE_DRAIN: 'DIRECTIVE_TYPE_DRAIN',
} as const;

export type DirectiveType =
  | 'DIRECTIVE_TYPE_UNSPECIFIED'
  | 0
  | 'DIRECTIVE_TYPE_SET_INTERVAL'
  | 1
  | 'DIRECTIVE_TYPE_REREGISTER'
  | 2
  | 'DIRECTIVE_TYPE_DRAIN'
  | 3

export type DirectiveType__Output = typeof DirectiveType[keyof typeof DirectiveType]
