{{/* Names follow the release name, so `svc/<release>-jobmanager` and `job/<release>-bootstrap` are what the README's commands expect. */}}
{{- define "flink-cdc.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "flink-cdc.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "flink-cdc.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "flink-cdc.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name (.Chart.Version | replace "+" "_") }}
{{- end -}}

{{/* Selector labels of one component: include with (dict "root" $ "component" "jobmanager"). */}}
{{- define "flink-cdc.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* registry/repository@digest, or :tag without a digest. */}}
{{- define "flink-cdc.imageRef" -}}
{{- $registry := .root.Values.global.imageRegistry -}}
{{- $repository := .image.repository -}}
{{- if $registry -}}{{- $repository = printf "%s/%s" (trimSuffix "/" $registry) $repository -}}{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (toString .image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "flink-cdc.image" -}}
{{- include "flink-cdc.imageRef" (dict "root" . "image" .Values.image) -}}
{{- end -}}

{{- define "flink-cdc.haEnabled" -}}
{{- if gt (int .Values.jobmanager.replicas) 1 -}}true{{- end -}}
{{- end -}}

{{/* Bad values stop the render with the message an operator needs. */}}
{{- define "flink-cdc.validate" -}}
{{- if lt (int .Values.jobmanager.replicas) 1 -}}
{{- fail "jobmanager.replicas must be at least 1" -}}
{{- end -}}
{{- if lt (int .Values.taskmanager.replicas) 1 -}}
{{- fail "taskmanager.replicas must be at least 1" -}}
{{- end -}}
{{- if and (include "flink-cdc.haEnabled" .) (not (index .Values.flinkConfiguration "high-availability.storageDir")) -}}
{{- fail (printf "jobmanager.replicas=%d turns on Flink's Kubernetes HA, which needs flinkConfiguration.\"high-availability.storageDir\" (e.g. s3://flink-ha/): set it, or run one JobManager" (int .Values.jobmanager.replicas)) -}}
{{- end -}}
{{- if not .Values.secrets.mssqlCredentials.name -}}
{{- fail "secrets.mssqlCredentials.name is empty: name the pre-created secret holding the MSSQL username and password (oc create secret generic mssql-creds ...)" -}}
{{- end -}}
{{- if not .Values.secrets.s3Credentials.name -}}
{{- fail "secrets.s3Credentials.name is empty: name the pre-created secret holding the S3/MinIO access and secret keys (oc create secret generic s3-creds ...)" -}}
{{- end -}}
{{- range $key, $_ := .Values.flinkConfiguration -}}
{{- if regexMatch "(?i)(secret-key|access-key|password|secret\\.key|access\\.key)" $key -}}
{{- fail (printf "flinkConfiguration.%s would put a credential into a ConfigMap: keep it in the secret named by secrets.s3Credentials (or secrets.mssqlCredentials), which reaches the containers as environment" $key) -}}
{{- end -}}
{{- end -}}
{{- if and (eq .Values.libs.mode "image") (not .Values.libs.image.repository) -}}
{{- fail "libs.mode=image needs libs.image.repository (airgap push builds and pushes the libs image and writes it into values-airgap.yaml)" -}}
{{- end -}}
{{- if and (eq .Values.libs.mode "pvc") (not .Values.libs.pvc.claimName) -}}
{{- fail "libs.mode=pvc needs libs.pvc.claimName: the PersistentVolumeClaim that holds the connector JARs" -}}
{{- end -}}
{{- if eq .Values.libs.mode "configMap" -}}
{{- $total := 0 -}}
{{- range $path, $_ := .Files.Glob "files/libs/*.jar" -}}
{{- $total = add $total (len ($.Files.GetBytes $path)) -}}
{{- end -}}
{{- if gt $total (int .Values.libs.configMapMaxBytes) -}}
{{- fail (printf "files/libs holds %d bytes of JARs, more than a ConfigMap carries (libs.configMapMaxBytes=%d): use libs.mode=image (airgap push builds the libs image from the same JARs) or libs.mode=pvc" $total (int .Values.libs.configMapMaxBytes)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* OpenShift restricted-v2: no runAsUser, runAsGroup or fsGroup, so the SCC assigns them. */}}
{{- define "flink-cdc.podSecurityContext" -}}
runAsNonRoot: true
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "flink-cdc.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Credentials reach containers as environment from the secrets, never through a ConfigMap. */}}
{{- define "flink-cdc.env" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: ENABLE_BUILT_IN_PLUGINS
  value: {{ printf "flink-s3-fs-presto-%s.jar" .Chart.AppVersion | quote }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.s3Credentials.name }}
      key: {{ .Values.secrets.s3Credentials.accessKeyKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.s3Credentials.name }}
      key: {{ .Values.secrets.s3Credentials.secretKeyKey }}
{{- with .Values.env }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Writable places on a read-only root filesystem, and the assembled lib/ and conf/. */}}
{{- define "flink-cdc.volumes" -}}
- name: flink-conf-template
  configMap:
    name: {{ include "flink-cdc.fullname" . }}-config
- name: flink-conf
  emptyDir: {}
- name: flink-lib
  emptyDir: {}
- name: tmp
  emptyDir: {}
- name: logs
  emptyDir: {}
- name: rocksdb
  emptyDir: {}
- name: plugins
  emptyDir: {}
{{- if eq .Values.libs.mode "configMap" }}
- name: connector-libs
  configMap:
    name: {{ include "flink-cdc.fullname" . }}-libs
{{- else if eq .Values.libs.mode "pvc" }}
- name: connector-libs
  persistentVolumeClaim:
    claimName: {{ .Values.libs.pvc.claimName }}
    readOnly: true
{{- end }}
{{- end -}}

{{- define "flink-cdc.volumeMounts" -}}
- name: flink-conf
  mountPath: /opt/flink/conf
- name: flink-lib
  mountPath: /opt/flink/lib
- name: tmp
  mountPath: /tmp
- name: logs
  mountPath: /opt/flink/log
- name: rocksdb
  mountPath: /opt/flink/rocksdb
- name: plugins
  mountPath: /opt/flink/plugins
{{- end -}}

{{/* The image's own lib/ and conf/ are copied into writable emptyDirs, then the connector JARs are added to lib/. */}}
{{- define "flink-cdc.initContainers" -}}
- name: prepare-flink
  image: {{ include "flink-cdc.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/bin/sh", "-ec", "cp -a /opt/flink/lib/. /work/lib/ && cp -a /opt/flink/plugins/. /work/plugins/ && cp /config/* /work/conf/"]
  securityContext:
    {{- include "flink-cdc.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: flink-lib
      mountPath: /work/lib
    - name: flink-conf
      mountPath: /work/conf
    - name: plugins
      mountPath: /work/plugins
    - name: flink-conf-template
      mountPath: /config
- name: connector-libs
{{- if eq .Values.libs.mode "image" }}
  image: {{ include "flink-cdc.imageRef" (dict "root" . "image" .Values.libs.image) }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/bin/sh", "-ec", {{ printf "cp %s/*.jar /work/lib/" .Values.libs.image.path | quote }}]
  volumeMounts:
    - name: flink-lib
      mountPath: /work/lib
{{- else }}
  image: {{ include "flink-cdc.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/bin/sh", "-ec", "for jar in /libs/*.jar; do [ -e \"$jar\" ] && cp \"$jar\" /work/lib/; done; true"]
  volumeMounts:
    - name: flink-lib
      mountPath: /work/lib
    - name: connector-libs
      mountPath: /libs
{{- end }}
  securityContext:
    {{- include "flink-cdc.containerSecurityContext" . | nindent 4 }}
{{- end -}}

{{- define "flink-cdc.podSpecCommon" -}}
serviceAccountName: {{ include "flink-cdc.serviceAccountName" . }}
securityContext:
  {{- include "flink-cdc.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
