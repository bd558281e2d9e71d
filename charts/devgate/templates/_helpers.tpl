{{/*
Names. The release name is the usual prefix; fullnameOverride replaces it.
*/}}
{{- define "devgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "devgate.authName" -}}
{{- printf "%s-auth" (include "devgate.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "devgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of the webhook/controller pods. */}}
{{- define "devgate.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{/* Selector labels of the auth service pods. */}}
{{- define "devgate.authSelectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: auth
{{- end -}}

{{- define "devgate.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/*
webhookURLMode: devgate runs outside the cluster (a development cluster); the
API server calls webhook.url and the chart renders no webhook Deployment.
*/}}
{{- define "devgate.urlMode" -}}
{{- if .Values.webhook.url }}true{{ end -}}
{{- end -}}

{{- define "devgate.certSecretName" -}}
{{- if eq .Values.webhook.certificate.source "secret" -}}
{{- required "webhook.certificate.secretName is required with webhook.certificate.source=secret" .Values.webhook.certificate.secretName -}}
{{- else -}}
{{- printf "%s-webhook-tls" (include "devgate.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
The namespaces the API server never sends to devgate: kube-system, every
namespace the configuration excludes, and the release's own, so devgate can
never block its own recovery.
*/}}
{{- define "devgate.excludedNamespaces" -}}
{{- $ns := list "kube-system" -}}
{{- range .Values.config.excludedNamespaces -}}
{{- $ns = append $ns . -}}
{{- end -}}
{{- $ns = append $ns .Release.Namespace -}}
{{- toJson (uniq $ns) -}}
{{- end -}}

{{/*
devgate's configuration file (SPEC 1) from .Values.config. Empty optional
strings are left out so devgate's own defaults apply (the auth URLs derive
from the domain).
*/}}
{{/* The namespace of users and invitations (auth.usersNamespace). */}}
{{- define "devgate.usersNamespace" -}}
{{- .Values.config.auth.usersNamespace | default .Release.Namespace -}}
{{- end -}}

{{- define "devgate.config" -}}
{{- $c := deepCopy .Values.config -}}
{{- if not $c.domain -}}{{- fail "config.domain is required: the wildcard DNS domain of endpoints" -}}{{- end -}}
{{- if not $c.ingressClassName -}}{{- $_ := unset $c "ingressClassName" -}}{{- end -}}
{{- if not $c.clusterDomain -}}{{- $_ := unset $c "clusterDomain" -}}{{- end -}}
{{- if not $c.tls.clusterIssuer -}}{{- $_ := unset $c.tls "clusterIssuer" -}}{{- end -}}
{{- if not $c.privateEndpoints.authURL -}}{{- $_ := unset $c.privateEndpoints "authURL" -}}{{- end -}}
{{- if not $c.privateEndpoints.signinURL -}}{{- $_ := unset $c.privateEndpoints "signinURL" -}}{{- end -}}
{{- if not $c.auth.publicURL -}}{{- $_ := unset $c.auth "publicURL" -}}{{- end -}}
{{- $_ := set $c.auth "usersNamespace" (include "devgate.usersNamespace" .) -}}
{{- $file := dict "apiVersion" "devgate.dev/v1alpha1" "kind" "Config" -}}
{{- toYaml (merge $file $c) -}}
{{- end -}}

{{/* Restricted Pod Security, shared by both Deployments. */}}
{{- define "devgate.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "devgate.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Spread replicas over nodes unless the user gives an affinity. */}}
{{- define "devgate.affinity" -}}
{{- $ := index . 0 -}}
{{- $affinity := index . 1 -}}
{{- $selector := index . 2 -}}
{{- if $affinity -}}
{{- toYaml $affinity -}}
{{- else -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
  - weight: 100
    podAffinityTerm:
      topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include $selector $ | nindent 10 }}
{{- end -}}
{{- end -}}
