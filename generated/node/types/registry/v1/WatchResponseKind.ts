// Original file: protos/registry/v1/registry_service.proto

export const WatchResponseKind = {
  WATCH_RESPONSE_KIND_UNSPECIFIED: 'WATCH_RESPONSE_KIND_UNSPECIFIED',
  WATCH_RESPONSE_KIND_SNAPSHOT: 'WATCH_RESPONSE_KIND_SNAPSHOT',
  WATCH_RESPONSE_KIND_EVENTS: 'WATCH_RESPONSE_KIND_EVENTS',
  WATCH_RESPONSE_KIND_PROGRESS: 'WATCH_RESPONSE_KIND_PROGRESS',
} as const;

export type WatchResponseKind =
  | 'WATCH_RESPONSE_KIND_UNSPECIFIED'
  | 0
  | 'WATCH_RESPONSE_KIND_SNAPSHOT'
  | 1
  | 'WATCH_RESPONSE_KIND_EVENTS'
  | 2
  | 'WATCH_RESPONSE_KIND_PROGRESS'
  | 3

export type WatchResponseKind__Output = typeof WatchResponseKind[keyof typeof WatchResponseKind]
