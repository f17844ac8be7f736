{{/*
Chart name, truncated to 63 characters (DNS label limit).
*/}}
{{- define "failover-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name. If the release name already contains the chart name it is used as is.
*/}}
{{- define "failover-operator.fullname" -}}
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

{{- define "failover-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: stable for the lifetime of a release (Deployment selectors are immutable).
*/}}
{{- define "failover-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "failover-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "failover-operator.labels" -}}
helm.sh/chart: {{ include "failover-operator.chart" . }}
{{ include "failover-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | toString | trunc 63 | quote }}
app.kubernetes.io/part-of: failover-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "failover-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "failover-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "failover-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}

{{- define "failover-operator.leaseName" -}}
{{- default (printf "%s-leader" (include "failover-operator.fullname" .)) .Values.leaderElection.leaseName | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
PodDisruptionBudget API version: podDisruptionBudget.apiVersion if set; else what the cluster
serves (helm install/upgrade, template --validate, or --api-versions with the kind, as Argo CD
passes); else, rendering offline, by the Kubernetes version (--kube-version): policy/v1 from 1.21.
*/}}
{{- define "failover-operator.pdb.apiVersion" -}}
{{- if .Values.podDisruptionBudget.apiVersion -}}
{{- .Values.podDisruptionBudget.apiVersion }}
{{- else if .Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget" -}}
policy/v1
{{- else if .Capabilities.APIVersions.Has "policy/v1beta1/PodDisruptionBudget" -}}
policy/v1beta1
{{- else if semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version -}}
policy/v1
{{- else -}}
policy/v1beta1
{{- end }}
{{- end }}

{{/*
Configuration errors that the schema cannot express.
*/}}
{{- define "failover-operator.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount > 1 requires leaderElection.enabled=true (two operators reconciling at once would fight over the active pod)" }}
{{- end }}
{{- if eq (int .Values.ports.metrics) (int .Values.ports.health) }}
{{- fail "ports.metrics and ports.health must differ" }}
{{- end }}
{{- end }}
