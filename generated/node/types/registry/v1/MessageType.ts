// Original file: protos/registry/v1/envelope.proto

export const MessageType = {
  MESSAGE_TYPE_UNSPECIFIED: 'MESSAGE_TYPE_UNSPECIFIED',
  MESSAGE_TYPE_COMMAND: 'MESSAGE_TYPE_COMMAND',
  MESSAGE_TYPE_QUERY: 'MESSAGE_TYPE_QUERY',
  MESSAGE_TYPE_EVENT: 'MESSAGE_TYPE_EVENT',
} as const;

export type MessageType =
  | 'MESSAGE_TYPE_UNSPECIFIED'
  | 0
  | 'MESSAGE_TYPE_COMMAND'
  | 1
  | 'MESSAGE_TYPE_QUERY'
  | 2
  | 'MESSAGE_TYPE_EVENT'
  | 3

export type MessageType__Output = typeof MessageType[keyof typeof MessageType]
