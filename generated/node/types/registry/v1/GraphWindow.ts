// Original file: protos/registry/v1/dependency_graph.proto

export const GraphWindow = {
  GRAPH_WINDOW_UNSPECIFIED: 'GRAPH_WINDOW_UNSPECIFIED',
  GRAPH_WINDOW_ONE_MINUTE: 'GRAPH_WINDOW_ONE_MINUTE',
  GRAPH_WINDOW_FIVE_MINUTES: 'GRAPH_WINDOW_FIVE_MINUTES',
  GRAPH_WINDOW_SIXTY_MINUTES: 'GRAPH_WINDOW_SIXTY_MINUTES',
} as const;

export type GraphWindow =
  | 'GRAPH_WINDOW_UNSPECIFIED'
  | 0
  | 'GRAPH_WINDOW_ONE_MINUTE'
  | 1
  | 'GRAPH_WINDOW_FIVE_MINUTES'
  | 2
  | 'GRAPH_WINDOW_SIXTY_MINUTES'
  | 3

export type GraphWindow__Output = typeof GraphWindow[keyof typeof GraphWindow]
