// Original file: protos/registry/v1/dependency_graph.proto

export const ImpactKind = {
  IMPACT_KIND_UNSPECIFIED: 'IMPACT_KIND_UNSPECIFIED',
  IMPACT_KIND_HARD: 'IMPACT_KIND_HARD',
  IMPACT_KIND_SOFT: 'IMPACT_KIND_SOFT',
  IMPACT_KIND_OPTIONAL: 'IMPACT_KIND_OPTIONAL',
  IMPACT_KIND_UNDECLARED: 'IMPACT_KIND_UNDECLARED',
} as const;

export type ImpactKind =
  | 'IMPACT_KIND_UNSPECIFIED'
  | 0
  | 'IMPACT_KIND_HARD'
  | 1
  | 'IMPACT_KIND_SOFT'
  | 2
  | 'IMPACT_KIND_OPTIONAL'
  | 3
  | 'IMPACT_KIND_UNDECLARED'
  | 4

export type ImpactKind__Output = typeof ImpactKind[keyof typeof ImpactKind]
