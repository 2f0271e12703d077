{{- define "registrar-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, the prefix of every object the chart creates. */}}
{{- define "registrar-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The operator's pods; the registrar's pods, which the operator labels, never match them. */}}
{{- define "registrar-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "registrar-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "registrar-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "registrar-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The ConfigMap that owns what the operator creates (templates/owner-anchor.yaml). */}}
{{- define "registrar-operator.ownerAnchor" -}}
{{- printf "%s-owner" (include "registrar-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "registrar-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "registrar-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "registrar-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The registrar runs from the operator's image unless told otherwise. */}}
{{- define "registrar-operator.registrarImage" -}}
{{- $i := .Values.registrar.image }}
{{- printf "%s:%s" (default .Values.image.repository $i.repository) (default (default .Chart.AppVersion .Values.image.tag) $i.tag) }}
{{- end }}

{{/*
A resource quantity as a flag value: a string as it is, a number as Kubernetes writes
it (values files hold numbers as floats: 1 would print as 1e+00 and 2147483648 as
2.147483648e+09), nothing as empty (no such request or limit).
*/}}
{{- define "registrar-operator.quantity" -}}
{{- if kindIs "string" . }}{{ . }}
{{- else if kindIs "invalid" . }}
{{- else if eq (float64 .) (floor .) }}{{ int64 . }}
{{- else }}{{ . }}
{{- end }}
{{- end }}

{{/* A rolling update runs two operators for a moment: elect a leader whenever asked or needed. */}}
{{- define "registrar-operator.leaderElect" -}}
{{- or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) }}
{{- end }}

{{/*
The operator's rules, parsed from files/manager-role.yaml: a copy of config/rbac/role.yaml,
which controller-gen generates from the +kubebuilder:rbac markers (make manifests copies
it). Usage: include "registrar-operator.managerRules" (list . "ClusterRole")
*/}}
{{- define "registrar-operator.managerRules" -}}
{{- $root := index . 0 }}
{{- $kind := index . 1 }}
{{- range regexSplit "(?m)^---\\s*$" ($root.Files.Get "files/manager-role.yaml") -1 }}
{{- $doc := fromYaml . }}
{{- if eq (get $doc "kind") $kind }}
{{- toYaml $doc.rules }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Refuses two values on one port: they render, then the registrar pods (every port of
theirs is TCP, the SIP port UDP too) or the operator cannot bind one of them, and the
fleet never gets ready. A port of what is off (TLS without a Secret, WebSocket at 0,
metrics disabled) is free.
*/}}
{{- define "registrar-operator.checkPorts" -}}
{{- if and .Values.metrics.enabled (eq (int .Values.metrics.port) 8081) }}
{{- fail "metrics.port is 8081, the operator's health port (--health-probe-bind-address=:8081): choose another" }}
{{- end }}
{{- $r := .Values.registrar }}
{{- if $r.manage }}
{{- $ports := list (list "registrar.sipPort" $r.sipPort) (list "registrar.metricsPort" $r.metricsPort) (list "registrar.probePort" $r.probePort) }}
{{- if dig "tls" "secretName" "" $r }}
{{- $ports = append $ports (list "registrar.tls.port" (dig "tls" "port" 5061 $r)) }}
{{- end }}
{{- with dig "ws" "port" 0 $r }}{{ $ports = append $ports (list "registrar.ws.port" .) }}{{ end }}
{{- with dig "ws" "securePort" 0 $r }}{{ $ports = append $ports (list "registrar.ws.securePort" .) }}{{ end }}
{{- $seen := dict }}
{{- range $ports }}
{{- $name := index . 0 }}
{{- $port := toString (int (index . 1)) }}
{{- if hasKey $seen $port }}
{{- fail (printf "%s and %s are both %s: the registrar pods need a port for each" (get $seen $port) $name $port) }}
{{- end }}
{{- $_ := set $seen $port $name }}
{{- end }}
{{- end }}
{{- end }}

{{/* The fixed node ports set, as YAML: registrar.nodePorts without its nulls (unset). */}}
{{- define "registrar-operator.nodePorts" -}}
{{- $np := dict }}
{{- range $name, $port := .Values.registrar.nodePorts }}
{{- if not (kindIs "invalid" $port) }}{{ $_ := set $np $name (int $port) }}{{ end }}
{{- end }}
{{- toYaml $np }}
{{- end }}

{{/*
Refuses fixed node ports the registrar Service cannot have or that would fix
nothing, as the operator would at start: any with a ClusterIP Service (it has no node
ports), one of a port that is not served, two ports on one node port (only SIP's UDP
and TCP share theirs).
*/}}
{{- define "registrar-operator.checkNodePorts" -}}
{{- $r := .Values.registrar }}
{{- $np := include "registrar-operator.nodePorts" . | fromYaml }}
{{- if $np }}
{{- if not (has $r.serviceType (list "NodePort" "LoadBalancer")) }}
{{- fail (printf "registrar.nodePorts need registrar.serviceType: NodePort or LoadBalancer (a %s Service has no node ports)" $r.serviceType) }}
{{- end }}
{{- if and (hasKey $np "tls") (not (dig "tls" "secretName" "" $r)) }}
{{- fail "registrar.nodePorts.tls needs registrar.tls.secretName: without it no SIP over TLS is served" }}
{{- end }}
{{- if and (hasKey $np "ws") (not (dig "ws" "port" 0 $r)) }}
{{- fail "registrar.nodePorts.ws needs registrar.ws.port: without it no ws:// is served" }}
{{- end }}
{{- if and (hasKey $np "wss") (not (dig "ws" "securePort" 0 $r)) }}
{{- fail "registrar.nodePorts.wss needs registrar.ws.securePort: without it no wss:// is served" }}
{{- end }}
{{- $seen := dict }}
{{- range $name := list "sip" "tls" "ws" "wss" }}
{{- if hasKey $np $name }}
{{- $port := toString (int (get $np $name)) }}
{{- if hasKey $seen $port }}
{{- fail (printf "registrar.nodePorts.%s and registrar.nodePorts.%s are both %s: each port of the registrar Service needs a node port of its own (SIP's UDP and TCP share theirs)" (get $seen $port) $name $port) }}
{{- end }}
{{- $_ := set $seen $port $name }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
