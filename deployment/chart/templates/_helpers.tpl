{{/*
The labels of every object: the kustomize base's common one (part-of) and Helm's own. The
comparison with the base (test/integration/deploy.test.ts) leaves out Helm's alone.
*/}}
{{- define "bno.labels" -}}
app.kubernetes.io/part-of: build-namespace-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* The operator's pods, as the base selects them; its Deployment, Service and PDB carry them too. */}}
{{- define "bno.selector" -}}
app.kubernetes.io/name: build-namespace-operator
app.kubernetes.io/component: operator
{{- end }}

{{/*
Every object of a file of the kustomize base (symlinked into files/), as a YAML stream:
(list $ "files/rbac.yaml"). The RBAC objects are read from the base, so that a rule or an
object added there is in the chart too; only the namespace (the release's) and Helm's
labels are set here.
*/}}
{{- define "bno.fromBase" -}}
{{- $root := index . 0 -}}
{{- range regexSplit "(?m)^---\\s*$" ($root.Files.Get (index . 1)) -1 }}
{{- $object := fromYaml . }}
{{- if $object.kind }}
{{- $meta := $object.metadata }}
{{- if hasKey $meta "namespace" }}{{ $_ := set $meta "namespace" $root.Release.Namespace }}{{ end }}
{{- $_ := set $meta "labels" (merge (include "bno.labels" $root | fromYaml) (default (dict) $meta.labels)) }}
{{- range (default (list) $object.subjects) }}
{{- if eq .kind "ServiceAccount" }}{{ $_ := set . "namespace" $root.Release.Namespace }}{{ end }}
{{- end }}
---
{{ toYaml $object }}
{{- end }}
{{- end }}
{{- end }}

{{/* The values that are not supported yet, refused rather than ignored. */}}
{{- define "bno.checkValues" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "replicas > 1 needs leaderElection.enabled: without the Lease, every replica would reconcile" -}}
{{- end -}}
{{- end }}
