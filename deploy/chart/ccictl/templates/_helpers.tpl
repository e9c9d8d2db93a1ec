{{/* The base name of every object: the release name, with "-ccictl" unless it already says ccictl. */}}
{{- define "ccictl.fullname" -}}
{{- if contains "ccictl" .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-ccictl" .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ccictl.serviceAccountName" -}}
{{- default (include "ccictl.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* Selects the controller's pods. Unchanged from the first kustomize release: a Deployment's selector cannot change in place. */}}
{{- define "ccictl.selectorLabels" -}}
app.kubernetes.io/name: ccictl
app.kubernetes.io/component: controller
{{- end -}}

{{- define "ccictl.labels" -}}
app.kubernetes.io/name: ccictl
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- if eq .Release.Service "Helm" }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ include "ccictl.tag" . | quote }}
{{- end }}
{{- end -}}

{{- define "ccictl.tag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{/* The namespaces whose Leases the controller takes: the leader-election Lease and the pool locks live in the release namespace. */}}
{{- define "ccictl.leaseNamespace" -}}
{{- .Release.Namespace -}}
{{- end -}}

{{/*
Refuses values whose RBAC would be wrong or whose controller would misbehave,
naming the value and the rule.
*/}}
{{- define "ccictl.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) -}}
{{- fail (printf "values: replicas=%d needs leaderElection.enabled=true: without it every replica reconciles every binding" (int .Values.replicas)) -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.service.enabled) -}}
{{- fail "values: metrics.serviceMonitor.enabled=true needs metrics.service.enabled=true: the ServiceMonitor selects that Service" -}}
{{- end -}}
{{- range .Values.extraArgs -}}
{{- if regexMatch "^-[^-]" (toString .) -}}
{{- fail (printf "values: extraArgs %q: give flags in their long form, one --flag=value per item, so that the chart can tell which it sets itself" (toString .)) -}}
{{- end -}}
{{- $flag := regexReplaceAll "=.*$" (toString .) "" -}}
{{- if has $flag (list "-A" "--all-namespaces" "-n" "--namespace" "--leader-elect" "--leader-elect-namespace" "--lock-namespace" "--metrics-bind-address" "--cluster-id" "--kubeconfig" "--cliconfig" "--context" "--all-contexts" "--watch" "-w") -}}
{{- fail (printf "values: extraArgs %q: the chart sets %s itself (watchNamespace, leaderElection, clusterID, metrics.port) and grants RBAC for exactly that; use those values" (toString .) $flag) -}}
{{- end -}}
{{- end -}}
{{- end -}}
