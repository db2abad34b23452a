// Original file: protos/registry/v1/dependency_graph.proto


export interface ServicePair {
  'sourceService'?: (string);
  'targetService'?: (string);
}

export interface ServicePair__Output {
  'sourceService': (string);
  'targetService': (string);
}
