// The BuildQuotaPolicy CRD's openAPIV3Schema, generated from crds/buildquotapolicies.builds.toolforge.org.yaml: do not edit.
// Regenerate with `npm run generate` (make generate); a unit test fails when this file is stale.

import type { JSONSchemaProps } from '../openapi.js';

export const BUILD_QUOTA_POLICY_SCHEMA: JSONSchemaProps = {
  "type": "object",
  "description": "Shapes the image-build namespaces of the tools it matches. Several policies may match one tool: they are layered by priority (then name); resourceQuota.hard is merged key by key, every other section is taken whole from the highest-priority policy that sets it.",
  "required": [
    "spec"
  ],
  "properties": {
    "apiVersion": {
      "type": "string"
    },
    "kind": {
      "type": "string"
    },
    "metadata": {
      "type": "object"
    },
    "spec": {
      "type": "object",
      "x-kubernetes-validations": [
        {
          "rule": "!has(self.builds) || !has(self.builds.fence) || !has(self.builds.fence.pipelines) || self.builds.fence.pipelines.all(p, has(self.replicate) && self.replicate.exists(r, r.kind == 'Pipeline' && r.apiVersion.startsWith('tekton.dev/') && has(r.name) && r.name == p))",
          "fieldPath": ".builds.fence.pipelines",
          "message": "each of builds.fence.pipelines must be a Pipeline this policy replicates by name (replicate: {apiVersion: tekton.dev/v1, kind: Pipeline, name: ...})"
        }
      ],
      "properties": {
        "priority": {
          "type": "integer",
          "format": "int32",
          "default": 0,
          "minimum": -1000000,
          "maximum": 1000000,
          "description": "Higher wins where several policies match one tool; ties are broken by name, the alphabetically first winning."
        },
        "toolSelector": {
          "description": "Label selector on tool namespaces (tool-<name>); an empty selector matches every namespace.",
          "default": {
            "matchLabels": {
              "tenancy": "tool"
            }
          },
          "type": "object",
          "x-kubernetes-map-type": "atomic",
          "properties": {
            "matchLabels": {
              "type": "object",
              "maxProperties": 16,
              "additionalProperties": {
                "type": "string",
                "maxLength": 63,
                "x-kubernetes-validations": [
                  {
                    "rule": "!format.labelValue().validate(self).hasValue()",
                    "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                  }
                ]
              },
              "x-kubernetes-validations": [
                {
                  "rule": "self.all(k, !format.qualifiedName().validate(k).hasValue())",
                  "message": "keys must be label keys: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                }
              ]
            },
            "matchExpressions": {
              "type": "array",
              "maxItems": 8,
              "x-kubernetes-list-type": "atomic",
              "items": {
                "type": "object",
                "required": [
                  "key",
                  "operator"
                ],
                "properties": {
                  "key": {
                    "type": "string",
                    "maxLength": 317,
                    "x-kubernetes-validations": [
                      {
                        "rule": "!format.qualifiedName().validate(self).hasValue()",
                        "message": "must be a label key: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                      }
                    ]
                  },
                  "operator": {
                    "type": "string",
                    "enum": [
                      "In",
                      "NotIn",
                      "Exists",
                      "DoesNotExist"
                    ]
                  },
                  "values": {
                    "type": "array",
                    "maxItems": 16,
                    "x-kubernetes-list-type": "atomic",
                    "items": {
                      "type": "string",
                      "maxLength": 63,
                      "x-kubernetes-validations": [
                        {
                          "rule": "!format.labelValue().validate(self).hasValue()",
                          "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                        }
                      ]
                    }
                  }
                },
                "x-kubernetes-validations": [
                  {
                    "rule": "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                    "message": "values must be non-empty for operators In and NotIn, and empty for Exists and DoesNotExist"
                  }
                ]
              }
            }
          }
        },
        "tools": {
          "description": "If set, only these tool names (per-tool overrides); the selector must match as well.",
          "type": "array",
          "maxItems": 512,
          "x-kubernetes-list-type": "set",
          "items": {
            "type": "string",
            "maxLength": 53,
            "x-kubernetes-validations": [
              {
                "rule": "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
                "message": "a tool name is at most 53 lowercase letters, digits and '-', starting and ending with a letter or digit"
              }
            ]
          }
        },
        "namespace": {
          "description": "The build namespace itself.",
          "type": "object",
          "properties": {
            "nameTemplate": {
              "description": "Name of the build namespace; {tool} is replaced by the tool name. A name over 63 characters is cut and given a hash suffix.",
              "type": "string",
              "default": "image-build-{tool}",
              "maxLength": 63,
              "x-kubernetes-validations": [
                {
                  "rule": "self.contains('{tool}')",
                  "message": "nameTemplate must contain {tool}"
                },
                {
                  "rule": "!format.dns1123Label().validate(self.replace('{tool}', 'x')).hasValue()",
                  "message": "nameTemplate must give a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit"
                },
                {
                  "rule": "!self.startsWith('tool-')",
                  "message": "nameTemplate must not start with tool-: those names are the tools' own namespaces"
                }
              ]
            },
            "podSecurity": {
              "description": "Pod Security Standard enforced (and warned and audited) in the build namespace.",
              "type": "string",
              "default": "baseline",
              "enum": [
                "privileged",
                "baseline",
                "restricted"
              ]
            },
            "labels": {
              "description": "Extra labels of the build namespace.",
              "type": "object",
              "maxProperties": 32,
              "additionalProperties": {
                "type": "string",
                "maxLength": 63,
                "x-kubernetes-validations": [
                  {
                    "rule": "!format.labelValue().validate(self).hasValue()",
                    "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                  }
                ]
              },
              "x-kubernetes-validations": [
                {
                  "rule": "self.all(k, !format.qualifiedName().validate(k).hasValue())",
                  "message": "keys must be label keys: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                },
                {
                  "rule": "self.all(k, k != 'app.kubernetes.io/managed-by' && !k.startsWith('builds.toolforge.org/') && !k.startsWith('pod-security.kubernetes.io/'))",
                  "message": "labels must not set keys the operator owns: app.kubernetes.io/managed-by, builds.toolforge.org/*, pod-security.kubernetes.io/* (use podSecurity)"
                }
              ]
            },
            "annotations": {
              "description": "Extra annotations of the build namespace.",
              "type": "object",
              "maxProperties": 32,
              "additionalProperties": {
                "type": "string",
                "maxLength": 4096
              },
              "x-kubernetes-validations": [
                {
                  "rule": "self.all(k, !format.qualifiedName().validate(k).hasValue())",
                  "message": "keys must be annotation keys: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                },
                {
                  "rule": "self.all(k, !k.startsWith('builds.toolforge.org/') && !k.startsWith('fence.builds.toolforge.org/'))",
                  "message": "annotations must not set keys the operator owns: builds.toolforge.org/*, fence.builds.toolforge.org/* (set builds.fence)"
                }
              ]
            }
          }
        },
        "resourceQuota": {
          "description": "The ResourceQuota build-quota of the build namespace.",
          "type": "object",
          "properties": {
            "hard": {
              "description": "Merged key by key across the matching policies, the higher priority winning each key.",
              "type": "object",
              "maxProperties": 64,
              "additionalProperties": {
                "x-kubernetes-int-or-string": true,
                "maxLength": 64,
                "x-kubernetes-validations": [
                  {
                    "rule": "type(self) == int ? self >= 0 : isQuantity(self) && !quantity(self).isLessThan(quantity('0'))",
                    "message": "must be a non-negative quantity, such as 4, 500m or 4Gi"
                  }
                ]
              },
              "x-kubernetes-validations": [
                {
                  "rule": "self.all(k, !format.qualifiedName().validate(k).hasValue())",
                  "message": "keys must be resource names, such as requests.cpu or count/pipelineruns.tekton.dev"
                },
                {
                  "rule": "self.all(k, k.contains('/') || k in ['pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets', 'configmaps', 'persistentvolumeclaims', 'services.nodeports', 'services.loadbalancers', 'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.storage', 'requests.ephemeral-storage', 'limits.cpu', 'limits.memory', 'limits.ephemeral-storage'] || k.startsWith('hugepages-') || k.startsWith('requests.hugepages-'))",
                  "message": "a key without '/' must be a standard quota resource (pods, requests.cpu, limits.memory, ...); others need a domain, such as count/pipelineruns.tekton.dev"
                }
              ]
            },
            "scoped": {
              "description": "Further ResourceQuotas build-quota-<name>, each counting only what its scopeSelector selects: pods 0 for PriorityClass In [system-node-critical, system-cluster-critical] keeps every build pod off the system priorities. Taken whole from the highest-priority policy that sets it.",
              "type": "array",
              "maxItems": 4,
              "x-kubernetes-list-type": "map",
              "x-kubernetes-list-map-keys": [
                "name"
              ],
              "items": {
                "type": "object",
                "required": [
                  "name",
                  "hard",
                  "scopeSelector"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "maxLength": 40,
                    "x-kubernetes-validations": [
                      {
                        "rule": "!format.dns1123Label().validate(self).hasValue()",
                        "message": "must be a DNS label: lowercase letters, digits and '-'"
                      }
                    ]
                  },
                  "hard": {
                    "type": "object",
                    "maxProperties": 16,
                    "additionalProperties": {
                      "x-kubernetes-int-or-string": true,
                      "maxLength": 64,
                      "x-kubernetes-validations": [
                        {
                          "rule": "type(self) == int ? self >= 0 : isQuantity(self) && !quantity(self).isLessThan(quantity('0'))",
                          "message": "must be a non-negative quantity, such as 4, 500m or 4Gi"
                        }
                      ]
                    },
                    "x-kubernetes-validations": [
                      {
                        "rule": "self.all(k, !format.qualifiedName().validate(k).hasValue())",
                        "message": "keys must be resource names, such as pods or requests.cpu"
                      }
                    ]
                  },
                  "scopeSelector": {
                    "type": "object",
                    "required": [
                      "matchExpressions"
                    ],
                    "properties": {
                      "matchExpressions": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 4,
                        "x-kubernetes-list-type": "atomic",
                        "items": {
                          "type": "object",
                          "required": [
                            "scopeName",
                            "operator"
                          ],
                          "properties": {
                            "scopeName": {
                              "type": "string",
                              "enum": [
                                "PriorityClass",
                                "Terminating",
                                "NotTerminating",
                                "BestEffort",
                                "NotBestEffort",
                                "CrossNamespacePodAffinity"
                              ]
                            },
                            "operator": {
                              "type": "string",
                              "enum": [
                                "In",
                                "NotIn",
                                "Exists",
                                "DoesNotExist"
                              ]
                            },
                            "values": {
                              "type": "array",
                              "maxItems": 16,
                              "x-kubernetes-list-type": "atomic",
                              "items": {
                                "type": "string",
                                "maxLength": 253
                              }
                            }
                          },
                          "x-kubernetes-validations": [
                            {
                              "rule": "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                              "message": "values must be non-empty for operators In and NotIn, and empty for Exists and DoesNotExist"
                            }
                          ]
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        },
        "limitRange": {
          "description": "The LimitRange build-limits of the build namespace; no LimitRange when limits is empty.",
          "type": "object",
          "required": [
            "limits"
          ],
          "properties": {
            "limits": {
              "type": "array",
              "maxItems": 3,
              "x-kubernetes-list-type": "map",
              "x-kubernetes-list-map-keys": [
                "type"
              ],
              "items": {
                "type": "object",
                "required": [
                  "type"
                ],
                "properties": {
                  "type": {
                    "type": "string",
                    "enum": [
                      "Pod",
                      "Container",
                      "PersistentVolumeClaim"
                    ]
                  },
                  "max": {
                    "type": "object",
                    "maxProperties": 16,
                    "additionalProperties": {
                      "x-kubernetes-int-or-string": true,
                      "maxLength": 64,
                      "x-kubernetes-validations": [
                        {
                          "rule": "type(self) == int ? self >= 0 : isQuantity(self) && !quantity(self).isLessThan(quantity('0'))",
                          "message": "must be a non-negative quantity, such as 4, 500m or 4Gi"
                        }
                      ]
                    }
                  },
                  "min": {
                    "type": "object",
                    "maxProperties": 16,
                    "additionalProperties": {
                      "x-kubernetes-int-or-string": true,
                      "maxLength": 64,
                      "x-kubernetes-validations": [
                        {
                          "rule": "type(self) == int ? self >= 0 : isQuantity(self) && !quantity(self).isLessThan(quantity('0'))",
                          "message": "must be a non-negative quantity, such as 4, 500m or 4Gi"
                        }
                      ]
                    }
                  },
                  "default": {
                    "type": "object",
                    "maxProperties": 16,
                    "additionalProperties": {
                      "x-kubernetes-int-or-string": true,
                      "maxLength": 64,
                      "x-kubernetes-validations": [
                        {
                          "rule": "type(self) == int ? self >= 0 : isQuantity(self) && !quantity(self).isLessThan(quantity('0'))",
                          "message": "must be a non-negative quantity, such as 4, 500m or 4Gi"
                        }
                      ]
                    }
                  },
                  "defaultRequest": {
                    "type": "object",
                    "maxProperties": 16,
                    "additionalProperties": {
                      "x-kubernetes-int-or-string": true,
                      "maxLength": 64,
                      "x-kubernetes-validations": [
                        {
                          "rule": "type(self) == int ? self >= 0 : isQuantity(self) && !quantity(self).isLessThan(quantity('0'))",
                          "message": "must be a non-negative quantity, such as 4, 500m or 4Gi"
                        }
                      ]
                    }
                  },
                  "maxLimitRequestRatio": {
                    "type": "object",
                    "maxProperties": 16,
                    "additionalProperties": {
                      "x-kubernetes-int-or-string": true,
                      "maxLength": 64,
                      "x-kubernetes-validations": [
                        {
                          "rule": "type(self) == int ? self >= 1 : isQuantity(self) && quantity(self).compareTo(quantity('1')) >= 0",
                          "message": "must be a quantity of at least 1"
                        }
                      ]
                    }
                  }
                },
                "x-kubernetes-validations": [
                  {
                    "rule": "self.type != 'Pod' || (!has(self.default) && !has(self.defaultRequest))",
                    "message": "default and defaultRequest may not be set when type is Pod"
                  },
                  {
                    "rule": "self.type != 'PersistentVolumeClaim' || (has(self.min) && 'storage' in self.min) || (has(self.max) && 'storage' in self.max)",
                    "message": "a PersistentVolumeClaim limit needs min.storage or max.storage"
                  },
                  {
                    "rule": "!has(self.min) || !has(self.max) || self.min.all(k, !(k in self.max) || !isQuantity(string(self.min[k])) || !isQuantity(string(self.max[k])) || quantity(string(self.min[k])).compareTo(quantity(string(self.max[k]))) <= 0)",
                    "message": "min must not be greater than max"
                  },
                  {
                    "rule": "!has(self.default) || !has(self.max) || self.default.all(k, !(k in self.max) || !isQuantity(string(self.default[k])) || !isQuantity(string(self.max[k])) || quantity(string(self.default[k])).compareTo(quantity(string(self.max[k]))) <= 0)",
                    "message": "default must not be greater than max"
                  },
                  {
                    "rule": "!has(self.min) || !has(self.default) || self.min.all(k, !(k in self.default) || !isQuantity(string(self.min[k])) || !isQuantity(string(self.default[k])) || quantity(string(self.min[k])).compareTo(quantity(string(self.default[k]))) <= 0)",
                    "message": "min must not be greater than default"
                  },
                  {
                    "rule": "!has(self.defaultRequest) || !has(self.max) || self.defaultRequest.all(k, !(k in self.max) || !isQuantity(string(self.defaultRequest[k])) || !isQuantity(string(self.max[k])) || quantity(string(self.defaultRequest[k])).compareTo(quantity(string(self.max[k]))) <= 0)",
                    "message": "defaultRequest must not be greater than max"
                  },
                  {
                    "rule": "!has(self.min) || !has(self.defaultRequest) || self.min.all(k, !(k in self.defaultRequest) || !isQuantity(string(self.min[k])) || !isQuantity(string(self.defaultRequest[k])) || quantity(string(self.min[k])).compareTo(quantity(string(self.defaultRequest[k]))) <= 0)",
                    "message": "min must not be greater than defaultRequest"
                  },
                  {
                    "rule": "!has(self.defaultRequest) || !has(self.default) || self.defaultRequest.all(k, !(k in self.default) || !isQuantity(string(self.defaultRequest[k])) || !isQuantity(string(self.default[k])) || quantity(string(self.defaultRequest[k])).compareTo(quantity(string(self.default[k]))) <= 0)",
                    "message": "defaultRequest must not be greater than default"
                  }
                ]
              }
            }
          }
        },
        "serviceAccount": {
          "description": "The ServiceAccount build pods run as.",
          "type": "object",
          "properties": {
            "name": {
              "type": "string",
              "default": "buildpacks-service-account",
              "maxLength": 253,
              "x-kubernetes-validations": [
                {
                  "rule": "!format.dns1123Subdomain().validate(self).hasValue()",
                  "message": "must be a DNS subdomain: lowercase letters, digits, '-' and '.'"
                }
              ]
            },
            "secrets": {
              "description": "Names of Secrets in the build namespace (usually replicated ones) listed in the ServiceAccount's secrets.",
              "type": "array",
              "maxItems": 16,
              "x-kubernetes-list-type": "set",
              "items": {
                "type": "string",
                "maxLength": 253,
                "x-kubernetes-validations": [
                  {
                    "rule": "!format.dns1123Subdomain().validate(self).hasValue()",
                    "message": "must be a DNS subdomain: lowercase letters, digits, '-' and '.'"
                  }
                ]
              }
            },
            "imagePullSecrets": {
              "description": "Names of Secrets in the build namespace listed in the ServiceAccount's imagePullSecrets.",
              "type": "array",
              "maxItems": 16,
              "x-kubernetes-list-type": "set",
              "items": {
                "type": "string",
                "maxLength": 253,
                "x-kubernetes-validations": [
                  {
                    "rule": "!format.dns1123Subdomain().validate(self).hasValue()",
                    "message": "must be a DNS subdomain: lowercase letters, digits, '-' and '.'"
                  }
                ]
              }
            }
          }
        },
        "access": {
          "description": "Who may use the build namespace, and how.",
          "type": "object",
          "properties": {
            "toolRole": {
              "description": "ClusterRole bound to User <tool> in its build namespace by RoleBinding tool-builds.",
              "type": "string",
              "default": "build-namespace-tool",
              "maxLength": 253,
              "x-kubernetes-validations": [
                {
                  "rule": "self != '' && self != '.' && self != '..' && !self.contains('/') && !self.contains('%')",
                  "message": "must be a ClusterRole name: not empty, '.' or '..', and without '/' or '%'"
                }
              ]
            },
            "extraSubjects": {
              "description": "More subjects of RoleBinding tool-builds, such as the builds-api ServiceAccount.",
              "type": "array",
              "maxItems": 16,
              "x-kubernetes-list-type": "atomic",
              "items": {
                "type": "object",
                "required": [
                  "kind",
                  "name"
                ],
                "properties": {
                  "kind": {
                    "type": "string",
                    "enum": [
                      "User",
                      "Group",
                      "ServiceAccount"
                    ]
                  },
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 253
                  },
                  "namespace": {
                    "type": "string",
                    "maxLength": 63,
                    "x-kubernetes-validations": [
                      {
                        "rule": "!format.dns1123Label().validate(self).hasValue()",
                        "message": "must be a namespace name: a DNS label"
                      }
                    ]
                  },
                  "apiGroup": {
                    "type": "string",
                    "maxLength": 253
                  }
                },
                "x-kubernetes-validations": [
                  {
                    "rule": "self.kind == 'ServiceAccount' ? !has(self.apiGroup) || self.apiGroup == '' : !has(self.apiGroup) || self.apiGroup == 'rbac.authorization.k8s.io'",
                    "message": "apiGroup must be empty for a ServiceAccount and rbac.authorization.k8s.io for a User or Group"
                  },
                  {
                    "rule": "self.kind == 'ServiceAccount' || !has(self.namespace)",
                    "message": "namespace applies only to ServiceAccount subjects"
                  },
                  {
                    "rule": "self.kind != 'ServiceAccount' || !format.dns1123Subdomain().validate(self.name).hasValue()",
                    "message": "a ServiceAccount name must be a DNS subdomain"
                  }
                ]
              }
            }
          }
        },
        "networkPolicy": {
          "description": "If set, NetworkPolicy build-network in the build namespace: a NetworkPolicySpec whose podSelector defaults to {} (every pod) and whose policyTypes default as the API server's do.",
          "type": "object",
          "properties": {
            "podSelector": {
              "type": "object",
              "x-kubernetes-map-type": "atomic",
              "properties": {
                "matchLabels": {
                  "type": "object",
                  "maxProperties": 16,
                  "additionalProperties": {
                    "type": "string",
                    "maxLength": 63,
                    "x-kubernetes-validations": [
                      {
                        "rule": "!format.labelValue().validate(self).hasValue()",
                        "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                      }
                    ]
                  },
                  "x-kubernetes-validations": [
                    {
                      "rule": "self.all(k, !format.qualifiedName().validate(k).hasValue())",
                      "message": "keys must be label keys: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                    }
                  ]
                },
                "matchExpressions": {
                  "type": "array",
                  "maxItems": 8,
                  "x-kubernetes-list-type": "atomic",
                  "items": {
                    "type": "object",
                    "required": [
                      "key",
                      "operator"
                    ],
                    "properties": {
                      "key": {
                        "type": "string",
                        "maxLength": 317,
                        "x-kubernetes-validations": [
                          {
                            "rule": "!format.qualifiedName().validate(self).hasValue()",
                            "message": "must be a label key: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                          }
                        ]
                      },
                      "operator": {
                        "type": "string",
                        "enum": [
                          "In",
                          "NotIn",
                          "Exists",
                          "DoesNotExist"
                        ]
                      },
                      "values": {
                        "type": "array",
                        "maxItems": 16,
                        "x-kubernetes-list-type": "atomic",
                        "items": {
                          "type": "string",
                          "maxLength": 63,
                          "x-kubernetes-validations": [
                            {
                              "rule": "!format.labelValue().validate(self).hasValue()",
                              "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                            }
                          ]
                        }
                      }
                    },
                    "x-kubernetes-validations": [
                      {
                        "rule": "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                        "message": "values must be non-empty for operators In and NotIn, and empty for Exists and DoesNotExist"
                      }
                    ]
                  }
                }
              }
            },
            "policyTypes": {
              "type": "array",
              "maxItems": 2,
              "x-kubernetes-list-type": "set",
              "items": {
                "type": "string",
                "enum": [
                  "Ingress",
                  "Egress"
                ]
              }
            },
            "ingress": {
              "type": "array",
              "maxItems": 8,
              "x-kubernetes-list-type": "atomic",
              "items": {
                "type": "object",
                "properties": {
                  "from": {
                    "type": "array",
                    "maxItems": 8,
                    "x-kubernetes-list-type": "atomic",
                    "items": {
                      "type": "object",
                      "properties": {
                        "podSelector": {
                          "type": "object",
                          "x-kubernetes-map-type": "atomic",
                          "properties": {
                            "matchLabels": {
                              "type": "object",
                              "maxProperties": 16,
                              "additionalProperties": {
                                "type": "string",
                                "maxLength": 63,
                                "x-kubernetes-validations": [
                                  {
                                    "rule": "!format.labelValue().validate(self).hasValue()",
                                    "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                                  }
                                ]
                              },
                              "x-kubernetes-validations": [
                                {
                                  "rule": "self.all(k, !format.qualifiedName().validate(k).hasValue())",
                                  "message": "keys must be label keys: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                                }
                              ]
                            },
                            "matchExpressions": {
                              "type": "array",
                              "maxItems": 8,
                              "x-kubernetes-list-type": "atomic",
                              "items": {
                                "type": "object",
                                "required": [
                                  "key",
                                  "operator"
                                ],
                                "properties": {
                                  "key": {
                                    "type": "string",
                                    "maxLength": 317,
                                    "x-kubernetes-validations": [
                                      {
                                        "rule": "!format.qualifiedName().validate(self).hasValue()",
                                        "message": "must be a label key: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                                      }
                                    ]
                                  },
                                  "operator": {
                                    "type": "string",
                                    "enum": [
                                      "In",
                                      "NotIn",
                                      "Exists",
                                      "DoesNotExist"
                                    ]
                                  },
                                  "values": {
                                    "type": "array",
                                    "maxItems": 16,
                                    "x-kubernetes-list-type": "atomic",
                                    "items": {
                                      "type": "string",
                                      "maxLength": 63,
                                      "x-kubernetes-validations": [
                                        {
                                          "rule": "!format.labelValue().validate(self).hasValue()",
                                          "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                                        }
                                      ]
                                    }
                                  }
                                },
                                "x-kubernetes-validations": [
                                  {
                                    "rule": "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                                    "message": "values must be non-empty for operators In and NotIn, and empty for Exists and DoesNotExist"
                                  }
                                ]
                              }
                            }
                          }
                        },
                        "namespaceSelector": {
                          "type": "object",
                          "x-kubernetes-map-type": "atomic",
                          "properties": {
                            "matchLabels": {
                              "type": "object",
                              "maxProperties": 16,
                              "additionalProperties": {
                                "type": "string",
                                "maxLength": 63,
                                "x-kubernetes-validations": [
                                  {
                                    "rule": "!format.labelValue().validate(self).hasValue()",
                                    "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                                  }
                                ]
                              },
                              "x-kubernetes-validations": [
                                {
                                  "rule": "self.all(k, !format.qualifiedName().validate(k).hasValue())",
                                  "message": "keys must be label keys: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                                }
                              ]
                            },
                            "matchExpressions": {
                              "type": "array",
                              "maxItems": 8,
                              "x-kubernetes-list-type": "atomic",
                              "items": {
                                "type": "object",
                                "required": [
                                  "key",
                                  "operator"
                                ],
                                "properties": {
                                  "key": {
                                    "type": "string",
                                    "maxLength": 317,
                                    "x-kubernetes-validations": [
                                      {
                                        "rule": "!format.qualifiedName().validate(self).hasValue()",
                                        "message": "must be a label key: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                                      }
                                    ]
                                  },
                                  "operator": {
                                    "type": "string",
                                    "enum": [
                                      "In",
                                      "NotIn",
                                      "Exists",
                                      "DoesNotExist"
                                    ]
                                  },
                                  "values": {
                                    "type": "array",
                                    "maxItems": 16,
                                    "x-kubernetes-list-type": "atomic",
                                    "items": {
                                      "type": "string",
                                      "maxLength": 63,
                                      "x-kubernetes-validations": [
                                        {
                                          "rule": "!format.labelValue().validate(self).hasValue()",
                                          "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                                        }
                                      ]
                                    }
                                  }
                                },
                                "x-kubernetes-validations": [
                                  {
                                    "rule": "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                                    "message": "values must be non-empty for operators In and NotIn, and empty for Exists and DoesNotExist"
                                  }
                                ]
                              }
                            }
                          }
                        },
                        "ipBlock": {
                          "type": "object",
                          "required": [
                            "cidr"
                          ],
                          "properties": {
                            "cidr": {
                              "type": "string",
                              "maxLength": 64,
                              "x-kubernetes-validations": [
                                {
                                  "rule": "isCIDR(self) && cidr(self) == cidr(self).masked()",
                                  "message": "must be a CIDR with no bits set after the prefix length, such as 10.0.0.0/8 or fd00::/8"
                                }
                              ]
                            },
                            "except": {
                              "type": "array",
                              "maxItems": 8,
                              "x-kubernetes-list-type": "atomic",
                              "items": {
                                "type": "string",
                                "maxLength": 64,
                                "x-kubernetes-validations": [
                                  {
                                    "rule": "isCIDR(self) && cidr(self) == cidr(self).masked()",
                                    "message": "must be a CIDR with no bits set after the prefix length, such as 10.0.0.0/8 or fd00::/8"
                                  }
                                ]
                              }
                            }
                          },
                          "x-kubernetes-validations": [
                            {
                              "rule": "!has(self.except) || !isCIDR(self.cidr) || self.except.all(e, !isCIDR(e) || (cidr(self.cidr).containsCIDR(e) && cidr(e).prefixLength() > cidr(self.cidr).prefixLength()))",
                              "message": "except entries must lie strictly within cidr"
                            }
                          ]
                        }
                      },
                      "x-kubernetes-validations": [
                        {
                          "rule": "has(self.ipBlock) ? !has(self.podSelector) && !has(self.namespaceSelector) : has(self.podSelector) || has(self.namespaceSelector)",
                          "message": "a peer sets ipBlock alone, or podSelector and/or namespaceSelector"
                        }
                      ]
                    }
                  },
                  "ports": {
                    "type": "array",
                    "maxItems": 8,
                    "x-kubernetes-list-type": "atomic",
                    "items": {
                      "type": "object",
                      "properties": {
                        "protocol": {
                          "type": "string",
                          "enum": [
                            "TCP",
                            "UDP",
                            "SCTP"
                          ]
                        },
                        "port": {
                          "x-kubernetes-int-or-string": true,
                          "maxLength": 15
                        },
                        "endPort": {
                          "type": "integer",
                          "format": "int32",
                          "minimum": 1,
                          "maximum": 65535
                        }
                      },
                      "x-kubernetes-validations": [
                        {
                          "rule": "!has(self.port) || (type(self.port) == int ? self.port >= 1 && self.port <= 65535 : self.port.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && self.port.matches('[a-z]') && !self.port.contains('--'))",
                          "message": "port must be a number from 1 to 65535 or a port name of at most 15 lowercase letters, digits and '-'"
                        },
                        {
                          "rule": "!has(self.endPort) || (has(self.port) && type(self.port) == int && self.endPort >= self.port)",
                          "message": "endPort needs a numeric port no greater than it"
                        }
                      ]
                    }
                  }
                }
              }
            },
            "egress": {
              "type": "array",
              "maxItems": 8,
              "x-kubernetes-list-type": "atomic",
              "items": {
                "type": "object",
                "properties": {
                  "to": {
                    "type": "array",
                    "maxItems": 8,
                    "x-kubernetes-list-type": "atomic",
                    "items": {
                      "type": "object",
                      "properties": {
                        "podSelector": {
                          "type": "object",
                          "x-kubernetes-map-type": "atomic",
                          "properties": {
                            "matchLabels": {
                              "type": "object",
                              "maxProperties": 16,
                              "additionalProperties": {
                                "type": "string",
                                "maxLength": 63,
                                "x-kubernetes-validations": [
                                  {
                                    "rule": "!format.labelValue().validate(self).hasValue()",
                                    "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                                  }
                                ]
                              },
                              "x-kubernetes-validations": [
                                {
                                  "rule": "self.all(k, !format.qualifiedName().validate(k).hasValue())",
                                  "message": "keys must be label keys: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                                }
                              ]
                            },
                            "matchExpressions": {
                              "type": "array",
                              "maxItems": 8,
                              "x-kubernetes-list-type": "atomic",
                              "items": {
                                "type": "object",
                                "required": [
                                  "key",
                                  "operator"
                                ],
                                "properties": {
                                  "key": {
                                    "type": "string",
                                    "maxLength": 317,
                                    "x-kubernetes-validations": [
                                      {
                                        "rule": "!format.qualifiedName().validate(self).hasValue()",
                                        "message": "must be a label key: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                                      }
                                    ]
                                  },
                                  "operator": {
                                    "type": "string",
                                    "enum": [
                                      "In",
                                      "NotIn",
                                      "Exists",
                                      "DoesNotExist"
                                    ]
                                  },
                                  "values": {
                                    "type": "array",
                                    "maxItems": 16,
                                    "x-kubernetes-list-type": "atomic",
                                    "items": {
                                      "type": "string",
                                      "maxLength": 63,
                                      "x-kubernetes-validations": [
                                        {
                                          "rule": "!format.labelValue().validate(self).hasValue()",
                                          "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                                        }
                                      ]
                                    }
                                  }
                                },
                                "x-kubernetes-validations": [
                                  {
                                    "rule": "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                                    "message": "values must be non-empty for operators In and NotIn, and empty for Exists and DoesNotExist"
                                  }
                                ]
                              }
                            }
                          }
                        },
                        "namespaceSelector": {
                          "type": "object",
                          "x-kubernetes-map-type": "atomic",
                          "properties": {
                            "matchLabels": {
                              "type": "object",
                              "maxProperties": 16,
                              "additionalProperties": {
                                "type": "string",
                                "maxLength": 63,
                                "x-kubernetes-validations": [
                                  {
                                    "rule": "!format.labelValue().validate(self).hasValue()",
                                    "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                                  }
                                ]
                              },
                              "x-kubernetes-validations": [
                                {
                                  "rule": "self.all(k, !format.qualifiedName().validate(k).hasValue())",
                                  "message": "keys must be label keys: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                                }
                              ]
                            },
                            "matchExpressions": {
                              "type": "array",
                              "maxItems": 8,
                              "x-kubernetes-list-type": "atomic",
                              "items": {
                                "type": "object",
                                "required": [
                                  "key",
                                  "operator"
                                ],
                                "properties": {
                                  "key": {
                                    "type": "string",
                                    "maxLength": 317,
                                    "x-kubernetes-validations": [
                                      {
                                        "rule": "!format.qualifiedName().validate(self).hasValue()",
                                        "message": "must be a label key: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                                      }
                                    ]
                                  },
                                  "operator": {
                                    "type": "string",
                                    "enum": [
                                      "In",
                                      "NotIn",
                                      "Exists",
                                      "DoesNotExist"
                                    ]
                                  },
                                  "values": {
                                    "type": "array",
                                    "maxItems": 16,
                                    "x-kubernetes-list-type": "atomic",
                                    "items": {
                                      "type": "string",
                                      "maxLength": 63,
                                      "x-kubernetes-validations": [
                                        {
                                          "rule": "!format.labelValue().validate(self).hasValue()",
                                          "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                                        }
                                      ]
                                    }
                                  }
                                },
                                "x-kubernetes-validations": [
                                  {
                                    "rule": "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                                    "message": "values must be non-empty for operators In and NotIn, and empty for Exists and DoesNotExist"
                                  }
                                ]
                              }
                            }
                          }
                        },
                        "ipBlock": {
                          "type": "object",
                          "required": [
                            "cidr"
                          ],
                          "properties": {
                            "cidr": {
                              "type": "string",
                              "maxLength": 64,
                              "x-kubernetes-validations": [
                                {
                                  "rule": "isCIDR(self) && cidr(self) == cidr(self).masked()",
                                  "message": "must be a CIDR with no bits set after the prefix length, such as 10.0.0.0/8 or fd00::/8"
                                }
                              ]
                            },
                            "except": {
                              "type": "array",
                              "maxItems": 8,
                              "x-kubernetes-list-type": "atomic",
                              "items": {
                                "type": "string",
                                "maxLength": 64,
                                "x-kubernetes-validations": [
                                  {
                                    "rule": "isCIDR(self) && cidr(self) == cidr(self).masked()",
                                    "message": "must be a CIDR with no bits set after the prefix length, such as 10.0.0.0/8 or fd00::/8"
                                  }
                                ]
                              }
                            }
                          },
                          "x-kubernetes-validations": [
                            {
                              "rule": "!has(self.except) || !isCIDR(self.cidr) || self.except.all(e, !isCIDR(e) || (cidr(self.cidr).containsCIDR(e) && cidr(e).prefixLength() > cidr(self.cidr).prefixLength()))",
                              "message": "except entries must lie strictly within cidr"
                            }
                          ]
                        }
                      },
                      "x-kubernetes-validations": [
                        {
                          "rule": "has(self.ipBlock) ? !has(self.podSelector) && !has(self.namespaceSelector) : has(self.podSelector) || has(self.namespaceSelector)",
                          "message": "a peer sets ipBlock alone, or podSelector and/or namespaceSelector"
                        }
                      ]
                    }
                  },
                  "ports": {
                    "type": "array",
                    "maxItems": 8,
                    "x-kubernetes-list-type": "atomic",
                    "items": {
                      "type": "object",
                      "properties": {
                        "protocol": {
                          "type": "string",
                          "enum": [
                            "TCP",
                            "UDP",
                            "SCTP"
                          ]
                        },
                        "port": {
                          "x-kubernetes-int-or-string": true,
                          "maxLength": 15
                        },
                        "endPort": {
                          "type": "integer",
                          "format": "int32",
                          "minimum": 1,
                          "maximum": 65535
                        }
                      },
                      "x-kubernetes-validations": [
                        {
                          "rule": "!has(self.port) || (type(self.port) == int ? self.port >= 1 && self.port <= 65535 : self.port.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && self.port.matches('[a-z]') && !self.port.contains('--'))",
                          "message": "port must be a number from 1 to 65535 or a port name of at most 15 lowercase letters, digits and '-'"
                        },
                        {
                          "rule": "!has(self.endPort) || (has(self.port) && type(self.port) == int && self.endPort >= self.port)",
                          "message": "endPort needs a numeric port no greater than it"
                        }
                      ]
                    }
                  }
                }
              }
            }
          }
        },
        "replicate": {
          "description": "Objects copied into every build namespace and kept equal to their source.",
          "type": "array",
          "maxItems": 32,
          "x-kubernetes-list-type": "atomic",
          "items": {
            "type": "object",
            "required": [
              "kind",
              "namespace"
            ],
            "properties": {
              "apiVersion": {
                "type": "string",
                "default": "v1",
                "maxLength": 253,
                "x-kubernetes-validations": [
                  {
                    "rule": "self.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?v[0-9]+((alpha|beta)[0-9]+)?$')",
                    "message": "apiVersion is a version or group/version, such as v1 or tekton.dev/v1"
                  }
                ]
              },
              "kind": {
                "type": "string",
                "maxLength": 63,
                "x-kubernetes-validations": [
                  {
                    "rule": "self.matches('^[A-Z][A-Za-z0-9]*$')",
                    "message": "kind is a resource kind, such as Secret or Pipeline"
                  }
                ]
              },
              "namespace": {
                "description": "Namespace of the source object(s).",
                "type": "string",
                "maxLength": 63,
                "x-kubernetes-validations": [
                  {
                    "rule": "!format.dns1123Label().validate(self).hasValue()",
                    "message": "must be a namespace name: a DNS label"
                  }
                ]
              },
              "name": {
                "type": "string",
                "maxLength": 253,
                "x-kubernetes-validations": [
                  {
                    "rule": "!format.dns1123Subdomain().validate(self).hasValue()",
                    "message": "must be a DNS subdomain: lowercase letters, digits, '-' and '.'"
                  }
                ]
              },
              "selector": {
                "type": "object",
                "x-kubernetes-map-type": "atomic",
                "properties": {
                  "matchLabels": {
                    "type": "object",
                    "maxProperties": 16,
                    "additionalProperties": {
                      "type": "string",
                      "maxLength": 63,
                      "x-kubernetes-validations": [
                        {
                          "rule": "!format.labelValue().validate(self).hasValue()",
                          "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                        }
                      ]
                    },
                    "x-kubernetes-validations": [
                      {
                        "rule": "self.all(k, !format.qualifiedName().validate(k).hasValue())",
                        "message": "keys must be label keys: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                      }
                    ]
                  },
                  "matchExpressions": {
                    "type": "array",
                    "maxItems": 8,
                    "x-kubernetes-list-type": "atomic",
                    "items": {
                      "type": "object",
                      "required": [
                        "key",
                        "operator"
                      ],
                      "properties": {
                        "key": {
                          "type": "string",
                          "maxLength": 317,
                          "x-kubernetes-validations": [
                            {
                              "rule": "!format.qualifiedName().validate(self).hasValue()",
                              "message": "must be a label key: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' or '.'"
                            }
                          ]
                        },
                        "operator": {
                          "type": "string",
                          "enum": [
                            "In",
                            "NotIn",
                            "Exists",
                            "DoesNotExist"
                          ]
                        },
                        "values": {
                          "type": "array",
                          "maxItems": 16,
                          "x-kubernetes-list-type": "atomic",
                          "items": {
                            "type": "string",
                            "maxLength": 63,
                            "x-kubernetes-validations": [
                              {
                                "rule": "!format.labelValue().validate(self).hasValue()",
                                "message": "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
                              }
                            ]
                          }
                        }
                      },
                      "x-kubernetes-validations": [
                        {
                          "rule": "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                          "message": "values must be non-empty for operators In and NotIn, and empty for Exists and DoesNotExist"
                        }
                      ]
                    }
                  }
                }
              }
            },
            "x-kubernetes-validations": [
              {
                "rule": "has(self.name) != has(self.selector)",
                "message": "a replicate entry sets exactly one of name or selector"
              }
            ]
          }
        },
        "builds": {
          "description": "Retention of finished PipelineRuns in the build namespace, and the build fence (what a PipelineRun may hold). The retention fields are taken together from the highest-priority policy that sets any of them, the fence from the one that sets it.",
          "type": "object",
          "properties": {
            "keepSuccessful": {
              "type": "integer",
              "format": "int32",
              "minimum": 0,
              "maximum": 1000
            },
            "keepFailed": {
              "type": "integer",
              "format": "int32",
              "minimum": 0,
              "maximum": 1000
            },
            "ttlSecondsAfterFinished": {
              "type": "integer",
              "format": "int64",
              "minimum": 0,
              "maximum": 31622400
            },
            "maxRunning": {
              "description": "How many of the tool's PipelineRuns the build queue lets run at once (started and not finished); the rest wait in line, held. Taken on its own from the highest-priority policy that sets it. Unset, it is as many builds as the tool's build-quota has room for (its hard limits over one build pod at the LimitRange defaults, so pods: 4 gives 4, as many as builds-api allows in parallel), or 4 when the quota bounds nothing: the quota is what a tool may use, so a separate default could only leave quota idle or let builds be refused by it.",
              "type": "integer",
              "format": "int32",
              "minimum": 1,
              "maximum": 1000
            },
            "fence": {
              "description": "What a PipelineRun in the build namespace may hold, enforced by the API server (a ValidatingAdmissionPolicy with per-namespace parameters). Each field is taken from the highest-priority matching policy that sets it; params are merged by name. Unset fields give the strict Toolforge allowlist for the replicated Pipelines.",
              "type": "object",
              "properties": {
                "pipelines": {
                  "description": "Names of the Pipelines a PipelineRun may reference; each must be a Pipeline this policy replicates by name. Default, the replicated Pipelines.",
                  "type": "array",
                  "maxItems": 16,
                  "x-kubernetes-list-type": "set",
                  "items": {
                    "type": "string",
                    "maxLength": 253,
                    "x-kubernetes-validations": [
                      {
                        "rule": "!format.dns1123Subdomain().validate(self).hasValue()",
                        "message": "must be a DNS subdomain: lowercase letters, digits, '-' and '.'"
                      }
                    ]
                  }
                },
                "params": {
                  "description": "The params a PipelineRun may pass; any other is refused. {tool} in a pattern stands for the tool's name.",
                  "type": "array",
                  "maxItems": 32,
                  "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": [
                    "name"
                  ],
                  "items": {
                    "type": "object",
                    "required": [
                      "name"
                    ],
                    "properties": {
                      "name": {
                        "description": "The param's name; at most 55 characters, so that the namespace annotation fence.builds.toolforge.org/pattern.<name> that carries its pattern is a valid key.",
                        "type": "string",
                        "maxLength": 55,
                        "x-kubernetes-validations": [
                          {
                            "rule": "self.matches('^[A-Za-z_][A-Za-z0-9_-]*$')",
                            "message": "a param name is letters, digits, '_' and '-', starting with a letter or '_'"
                          }
                        ]
                      },
                      "type": {
                        "description": "A plain string, or an array of strings (each matching the pattern).",
                        "type": "string",
                        "enum": [
                          "string",
                          "array"
                        ],
                        "default": "string"
                      },
                      "pattern": {
                        "description": "An RE2 regular expression the value (each item of an array) must match; {tool} is replaced by the tool name. Unset: any value.",
                        "type": "string",
                        "maxLength": 1024,
                        "x-kubernetes-validations": [
                          {
                            "rule": "type(''.find(self.replace('{tool}', 'x'))) == string",
                            "message": "must be an RE2 regular expression"
                          }
                        ]
                      },
                      "required": {
                        "description": "The PipelineRun must pass this param.",
                        "type": "boolean",
                        "default": false
                      }
                    }
                  }
                },
                "minPipelineTimeout": {
                  "description": "The shortest timeouts.pipeline allowed (a Go duration, more than 0). Default 1m.",
                  "type": "string",
                  "maxLength": 32,
                  "x-kubernetes-validations": [
                    {
                      "rule": "self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')",
                      "message": "must be a duration of more than 0, such as 1m or 1h30m"
                    }
                  ]
                },
                "maxPipelineTimeout": {
                  "description": "The longest timeouts.pipeline allowed (a Go duration, more than 0). Default 1h, Tekton's own default.",
                  "type": "string",
                  "maxLength": 32,
                  "x-kubernetes-validations": [
                    {
                      "rule": "self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')",
                      "message": "must be a duration of more than 0, such as 1m or 1h30m"
                    }
                  ]
                },
                "labelPrefixes": {
                  "description": "Label keys a PipelineRun may carry (Tekton copies them to the pods): an entry ending in '/' allows every key under it, any other entry that exact key. Default [user].",
                  "type": "array",
                  "maxItems": 32,
                  "x-kubernetes-list-type": "set",
                  "items": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 317,
                    "x-kubernetes-validations": [
                      {
                        "rule": "!self.contains(',')",
                        "message": "must not contain ','"
                      }
                    ]
                  }
                },
                "annotationPrefixes": {
                  "description": "Annotation keys a PipelineRun may carry, as labelPrefixes. Default [kubectl.kubernetes.io/last-applied-configuration].",
                  "type": "array",
                  "maxItems": 32,
                  "x-kubernetes-list-type": "set",
                  "items": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 317,
                    "x-kubernetes-validations": [
                      {
                        "rule": "!self.contains(',')",
                        "message": "must not contain ','"
                      }
                    ]
                  }
                }
              },
              "x-kubernetes-validations": [
                {
                  "rule": "!has(self.minPipelineTimeout) || !has(self.maxPipelineTimeout) || !self.minPipelineTimeout.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$') || !self.maxPipelineTimeout.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$') || duration(self.minPipelineTimeout) <= duration(self.maxPipelineTimeout)",
                  "message": "minPipelineTimeout must not be longer than maxPipelineTimeout"
                }
              ]
            }
          }
        },
        "deletionPolicy": {
          "description": "What happens to the build namespace when its tool goes away: Delete or Retain. Unset means Delete, decided by the highest-priority matching policy that sets it (no schema default, so that an override policy does not silently reset it).",
          "type": "string",
          "enum": [
            "Delete",
            "Retain"
          ]
        }
      }
    },
    "status": {
      "type": "object",
      "properties": {
        "observedGeneration": {
          "type": "integer",
          "format": "int64",
          "minimum": 0
        },
        "conditions": {
          "type": "array",
          "maxItems": 16,
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": [
            "type"
          ],
          "items": {
            "type": "object",
            "required": [
              "type",
              "status",
              "lastTransitionTime",
              "reason",
              "message"
            ],
            "properties": {
              "type": {
                "type": "string",
                "maxLength": 316,
                "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
              },
              "status": {
                "type": "string",
                "enum": [
                  "True",
                  "False",
                  "Unknown"
                ]
              },
              "observedGeneration": {
                "type": "integer",
                "format": "int64",
                "minimum": 0
              },
              "lastTransitionTime": {
                "type": "string",
                "format": "date-time"
              },
              "reason": {
                "type": "string",
                "minLength": 1,
                "maxLength": 1024,
                "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
              },
              "message": {
                "type": "string",
                "maxLength": 32768
              }
            }
          }
        },
        "matchedTools": {
          "type": "integer",
          "format": "int32",
          "minimum": 0
        },
        "readyTools": {
          "type": "integer",
          "format": "int32",
          "minimum": 0
        },
        "failedTools": {
          "type": "integer",
          "format": "int32",
          "minimum": 0
        },
        "failures": {
          "description": "Some of the tools this policy could not be applied to, and why.",
          "type": "array",
          "maxItems": 20,
          "x-kubernetes-list-type": "atomic",
          "items": {
            "type": "object",
            "required": [
              "tool",
              "reason",
              "message"
            ],
            "properties": {
              "tool": {
                "type": "string",
                "maxLength": 253
              },
              "reason": {
                "type": "string",
                "maxLength": 1024
              },
              "message": {
                "type": "string",
                "maxLength": 4096
              }
            }
          }
        },
        "deletionHold": {
          "description": "Build namespace deletions held back because a pass would have deleted an unusual share at once.",
          "type": "object",
          "required": [
            "since",
            "pendingDeletions",
            "message"
          ],
          "properties": {
            "since": {
              "type": "string",
              "format": "date-time"
            },
            "pendingDeletions": {
              "type": "integer",
              "format": "int32",
              "minimum": 0
            },
            "tools": {
              "description": "Some of the tools whose build namespaces are held.",
              "type": "array",
              "maxItems": 20,
              "x-kubernetes-list-type": "atomic",
              "items": {
                "type": "string",
                "maxLength": 253
              }
            },
            "message": {
              "type": "string",
              "maxLength": 4096
            }
          }
        }
      }
    }
  }
};
