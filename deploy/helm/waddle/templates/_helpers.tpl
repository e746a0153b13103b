{{/* The chart's name. */}}
{{- define "waddle.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's objects, at most 63 characters. */}}
{{- define "waddle.fullname" -}}
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

{{- define "waddle.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "waddle.labels" -}}
helm.sh/chart: {{ include "waddle.chart" . }}
{{ include "waddle.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The labels that select the pods: the Service, the PDB and the spread use them. */}}
{{- define "waddle.selectorLabels" -}}
app.kubernetes.io/name: {{ include "waddle.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "waddle.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "waddle.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the pods read: the operator's, or the chart's. */}}
{{- define "waddle.secretName" -}}
{{- default (include "waddle.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "waddle.image" -}}
{{- if eq .Values.image.tag "latest" }}
{{- fail "image.tag is latest: name a release (or leave it empty for the chart's appVersion), so an upgrade changes the pod template and rolls the pods onto one known version" }}
{{- end }}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
BASE_URL: config.baseURL, else the first Ingress host (https when a TLS
entry names it), else the render fails: links in mail and OAuth callbacks
would point at localhost.
*/}}
{{- define "waddle.baseURL" -}}
{{- if .Values.config.baseURL }}
{{- .Values.config.baseURL | trimSuffix "/" }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- $scheme := "http" }}
{{- range .Values.ingress.tls }}
{{- if has $host .hosts }}{{ $scheme = "https" }}{{ end }}
{{- end }}
{{- printf "%s://%s" $scheme $host }}
{{- else }}
{{- required "config.baseURL is required: the hub's public origin, such as https://waddle.example.com (or enable the Ingress and it is taken from its first host)" .Values.config.baseURL }}
{{- end }}
{{- end }}

{{/* SHUTDOWN_TIMEOUT in seconds, checked to be a whole positive number. */}}
{{- define "waddle.shutdownSeconds" -}}
{{- $s := int .Values.config.shutdownTimeoutSeconds }}
{{- if lt $s 1 }}
{{- fail "config.shutdownTimeoutSeconds must be a whole number of seconds of at least 1" }}
{{- end }}
{{- $s }}
{{- end }}

{{/*
The pod's grace period: the preStop sleep, then SHUTDOWN_TIMEOUT for
requests and jobs, 5 s more for jobs cancelled at the end of it, and 10 s
to close the pools.
*/}}
{{- define "waddle.gracePeriod" -}}
{{- add (int .Values.preStopSleepSeconds) (int (include "waddle.shutdownSeconds" .)) 15 }}
{{- end }}

{{/*
Fails the render when a setting that must be secret is in config.env, or a
required secret is missing from secret (without existingSecret).
*/}}
{{- define "waddle.validate" -}}
{{- range $k, $v := .Values.config.env }}
{{- $secretName := and (regexMatch "SECRET|TOKEN|PASSW|PRIVATE|KEY" $k) (not (hasSuffix "PUBLIC_KEY" $k)) }}
{{- $secretURL := regexMatch "^[A-Za-z][A-Za-z0-9+.-]*://[^/@\\s]*:[^/@\\s]*@" (toString $v) }}
{{- if or $secretName $secretURL (has $k (list "DATABASE_URL" "DATABASE_READ_URL" "REDIS_URL" "SMTP_URL")) }}
{{- fail (printf "config.env.%s looks secret and would land in a ConfigMap: put it in secret.env (or your existingSecret) instead" $k) }}
{{- end }}
{{- end }}
{{- range $k, $v := .Values.secret.env }}
{{- if not (regexMatch "^[A-Z_][A-Z0-9_]*$" $k) }}
{{- fail (printf "secret.env.%s is not an environment variable name (capitals, digits and _)" $k) }}
{{- end }}
{{- end }}
{{- range $k, $v := .Values.config.env }}
{{- if not (regexMatch "^[A-Z_][A-Z0-9_]*$" $k) }}
{{- fail (printf "config.env.%s is not an environment variable name (capitals, digits and _)" $k) }}
{{- end }}
{{- end }}
{{- if not .Values.existingSecret }}
{{- $_ := required "secret.databaseURL is required: the PostgreSQL URL, such as postgres://waddle:PASSWORD@postgres:5432/waddle (or name a Secret holding DATABASE_URL, REDIS_URL and TOKEN_ENCRYPTION_KEY in existingSecret)" .Values.secret.databaseURL }}
{{- $_ := required "secret.redisURL is required: several Waddle pods share sessions, caches, rate limits and overlay updates through Redis, such as redis://redis:6379/0 (or set existingSecret)" .Values.secret.redisURL }}
{{- $_ := required "secret.tokenEncryptionKey is required: 32 random bytes in base64 from `openssl rand -base64 32`; keep a copy with your database backups (or set existingSecret)" .Values.secret.tokenEncryptionKey }}
{{- end }}
{{- end }}
