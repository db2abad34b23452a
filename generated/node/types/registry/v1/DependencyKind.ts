// Original file: protos/registry/v1/instance.proto

export const DependencyKind = {
  DEPENDENCY_KIND_UNSPECIFIED: 'DEPENDENCY_KIND_UNSPECIFIED',
  DEPENDENCY_KIND_HARD: 'DEPENDENCY_KIND_HARD',
  DEPENDENCY_KIND_SOFT: 'DEPENDENCY_KIND_SOFT',
  DEPENDENCY_KIND_OPTIONAL: 'DEPENDENCY_KIND_OPTIONAL',
} as const;

export type DependencyKind =
  | 'DEPENDENCY_KIND_UNSPECIFIED'
  | 0
  | 'DEPENDENCY_KIND_HARD'
  | 1
  | 'DEPENDENCY_KIND_SOFT'
  | 2
  | 'DEPENDENCY_KIND_OPTIONAL'
  | 3

export type DependencyKind__Output = typeof DependencyKind[keyof typeof DependencyKind]
