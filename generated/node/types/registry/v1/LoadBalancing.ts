// Original file: protos/registry/v1/relay_service.proto

export const LoadBalancing = {
  LOAD_BALANCING_UNSPECIFIED: 'LOAD_BALANCING_UNSPECIFIED',
  LOAD_BALANCING_ROUND_ROBIN: 'LOAD_BALANCING_ROUND_ROBIN',
  LOAD_BALANCING_LEAST_LOADED: 'LOAD_BALANCING_LEAST_LOADED',
} as const;

export type LoadBalancing =
  | 'LOAD_BALANCING_UNSPECIFIED'
  | 0
  | 'LOAD_BALANCING_ROUND_ROBIN'
  | 1
  | 'LOAD_BALANCING_LEAST_LOADED'
  | 2

export type LoadBalancing__Output = typeof LoadBalancing[keyof typeof LoadBalancing]
