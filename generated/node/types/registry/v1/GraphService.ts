// Original file: protos/registry/v1/dependency_graph.proto


export interface GraphService {
  'serviceName'?: (string);
  'instanceCount'?: (number);
  'servingCount'?: (number);
  'fanIn'?: (number);
  'fanOut'?: (number);
  'dependentCount'?: (number);
}

export interface GraphService__Output {
  'serviceName': (string);
  'instanceCount': (number);
  'servingCount': (number);
  'fanIn': (number);
  'fanOut': (number);
  'dependentCount': (number);
}
