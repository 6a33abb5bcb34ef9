{{/* Names, labels and the derived settings every template shares. */}}

{{/* The chart name, or nameOverride. */}}
{{- define "leakwatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-<chart>" cut to 63 characters (DNS label), or just the release name when it already
contains the chart name; fullnameOverride replaces it. */}}
{{- define "leakwatch.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<chart>-<version>" for the helm.sh/chart label. */}}
{{- define "leakwatch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object; add app.kubernetes.io/component to say which part it is. */}}
{{- define "leakwatch.baseLabels" -}}
helm.sh/chart: {{ include "leakwatch.chart" . }}
app.kubernetes.io/name: {{ include "leakwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: leakwatch
{{- end -}}

{{/* Labels on the operator's own objects (Deployment, Service, ServiceAccount, RBAC, monitoring). */}}
{{- define "leakwatch.labels" -}}
{{ include "leakwatch.baseLabels" . }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* Labels that select the operator pods; never change them after a release exists (Deployment
selectors are immutable). */}}
{{- define "leakwatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "leakwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* The operator's ServiceAccount. */}}
{{- define "leakwatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "leakwatch.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image reference: repository:tag, or repository@digest when a digest is given. */}}
{{- define "leakwatch.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* "true" when the operator runs with kopf peering: asked for, or needed by more than one replica
(kopf keeps one of them active). Empty otherwise, so it can be used in `if`. */}}
{{- define "leakwatch.peering" -}}
{{- if or .Values.peering.enabled (gt (int .Values.replicas) 1) -}}true{{- end -}}
{{- end -}}

{{/* The peering object's name (LEAKWATCH_PEERING_NAME). */}}
{{- define "leakwatch.peeringName" -}}
{{- default (include "leakwatch.fullname" .) .Values.peering.name -}}
{{- end -}}

{{/* The Prometheus job label of the operator's scrape target. */}}
{{- define "leakwatch.job" -}}
{{- default (include "leakwatch.fullname" .) .Values.prometheusRule.operatorDown.job -}}
{{- end -}}
