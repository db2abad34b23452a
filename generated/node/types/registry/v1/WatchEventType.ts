// Original file: /work/wt/interop/protos/registry/v1/registry_service.proto

export const WatchEventType = {
  WATCH_EVENT_TYPE_UNSPECIFIED: 'WATCH_EVENT_TYPE_UNSPECIFIED',
  WATCH_EVENT_TYPE_ADDED: 'WATCH_EVENT_TYPE_ADDED',
  WATCH_EVENT_TYPE_UPDATED: 'WATCH_EVENT_TYPE_UPDATED',
  WATCH_EVENT_TYPE_REMOVED: 'WATCH_EVENT_TYPE_REMOVED',
  WATCH_EVENT_TYPE_STATUS_CHANGED: 'WATCH_EVENT_TYPE_STATUS_CHANGED',
} as const;

export type WatchEventType =
  | 'WATCH_EVENT_TYPE_UNSPECIFIED'
  | 0
  | 'WATCH_EVENT_TYPE_ADDED'
  | 1
  | 'WATCH_EVENT_TYPE_UPDATED'
  | 2
  | 'WATCH_EVENT_TYPE_REMOVED'
  | 3
  | 'WATCH_EVENT_TYPE_STATUS_CHANGED'
  | 4

export type WatchEventType__Output = typeof WatchEventType[keyof typeof WatchEventType]
