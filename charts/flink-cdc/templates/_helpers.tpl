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

{{/* Bad values stop the render with the message an operator needs. */}}
{{- define "flink-cdc.validate" -}}
{{- if lt (int .Values.jobmanager.replicas) 1 -}}
{{- fail "jobmanager.replicas must be at least 1" -}}
{{- end -}}
{{- if lt (int .Values.taskmanager.replicas) 1 -}}
{{- fail "taskmanager.replicas must be at least 1" -}}
{{- end -}}
{{- range $name, $image := dict "image" .Values.image "libs.image" .Values.libs.image -}}
{{- if and (hasKey $image "tag") (not (kindIs "string" $image.tag)) -}}
{{- fail (printf "%s.tag is the number %v, not a string: YAML reads an unquoted tag as a number (1.20 becomes 1.2); write the tag quoted, exactly as the registry names it, e.g. tag: \"1.20\"" $name $image.tag) -}}
{{- end -}}
{{- if and (not $image.digest) (not $image.tag) -}}
{{- fail (printf "%s has neither tag nor digest: set %s.tag (quoted) or %s.digest" $name $name $name) -}}
{{- end -}}
{{- end -}}
{{- if and (include "flink-cdc.haEnabled" .) (not (index .Values.flinkConfiguration "high-availability.storageDir")) -}}
{{- fail (printf "high availability (%s) needs flinkConfiguration.\"high-availability.storageDir\", where the JobManager keeps job graphs and checkpoint pointers (e.g. s3://flink-ha/, or file:///opt/flink/data/ha on the JobManager's volume): set it, or run one JobManager without high-availability" (include "flink-cdc.haMode" .)) -}}
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
{{- range .Values.env -}}
{{- if has .name (list "JOB_MANAGER_RPC_ADDRESS" "FLINK_PROPERTIES" "ENABLE_BUILT_IN_PLUGINS" "POD_IP") -}}
{{- fail (printf "env %s is set by the chart: use flinkConfiguration (or plugins.s3) instead" .name) -}}
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

{{/*
Credentials reach containers as environment from the secrets, never through a ConfigMap.
JOB_MANAGER_RPC_ADDRESS: the official image's entrypoint writes jobmanager.rpc.address into the
(writable) conf/ from this variable, and without it from `hostname -f`, the pod's own name; then
every TaskManager would dial itself. Naming the Service here keeps the address the chart wrote.
*/}}
{{- define "flink-cdc.env" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: JOB_MANAGER_RPC_ADDRESS
  value: {{ include "flink-cdc.fullname" . }}-jobmanager
{{- with include "flink-cdc.s3Plugins" . }}
- name: ENABLE_BUILT_IN_PLUGINS
  value: {{ . | quote }}
{{- end }}
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

{{/* "true" when the JobManager mounts the PVC: one JobManager, or a volume every replica can mount (ReadWriteMany). */}}
{{- define "flink-cdc.jobmanagerVolume" -}}
{{- if and .Values.persistence.enabled (or (eq (int .Values.jobmanager.replicas) 1) (has "ReadWriteMany" .Values.persistence.accessModes)) -}}true{{- end -}}
{{- end -}}

{{/* Writable places on a read-only root filesystem, and the assembled lib/, plugins/ and conf/. */}}
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

{{/*
Init containers: the image's own lib/, plugins/ and conf/ are copied into writable emptyDirs, the
chart's configuration replaces the image's, then the connector JARs are added to lib/.
The copy runs as whatever UID OpenShift assigns, with GID 0, into emptyDirs owned by root: plain
`cp -R` (no -a/-p) neither preserves owners and times nor touches the target directory itself,
which a non-root UID may not do ("preserving times: Operation not permitted"); then every copied
file is made readable and writable for group 0, OpenShift's convention for arbitrary UIDs
(symlinks are left alone: chmod would follow them into the image's read-only files).
Both configuration files are removed before the chart's is copied: Flink >= 1.19 prefers
config.yaml over flink-conf.yaml, so a leftover image file would win over the chart's.
*/}}
{{- define "flink-cdc.initContainers" -}}
- name: prepare-flink
  image: {{ include "flink-cdc.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command:
    - /bin/sh
    - -ec
    - |
      cp -R /opt/flink/lib/. /work/lib/
      cp -R /opt/flink/plugins/. /work/plugins/
      cp -R /opt/flink/conf/. /work/conf/
      rm -f /work/conf/flink-conf.yaml /work/conf/config.yaml
      cp /config/* /work/conf/
      find /work/lib /work/plugins /work/conf -mindepth 1 ! -type l -exec chmod g+rwX {} +
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
  image: {{ include "flink-cdc.imageRef" (dict "root" . "image" .Values.libs.image "name" "libs.image") }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command:
    - /bin/sh
    - -ec
    - |
      cp {{ .Values.libs.image.path }}/*.jar /work/lib/
      chmod g+rw /work/lib/*.jar
  volumeMounts:
    - name: flink-lib
      mountPath: /work/lib
{{- else }}
  image: {{ include "flink-cdc.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command:
    - /bin/sh
    - -ec
    - |
      for jar in /libs/*.jar; do
        if [ -e "$jar" ]; then cp "$jar" /work/lib/ && chmod g+rw "/work/lib/${jar##*/}"; fi
      done
  volumeMounts:
    - name: flink-lib
      mountPath: /work/lib
    - name: connector-libs
      mountPath: /libs
{{- end }}
  securityContext:
    {{- include "flink-cdc.containerSecurityContext" . | nindent 4 }}
{{- end -}}

{{/*
Pod-level settings every component shares, and its own scheduling knobs, as the Flink Kubernetes
Operator's pod templates offer them. Include with (dict "root" $ "component" .Values.jobmanager).
*/}}
{{- define "flink-cdc.podSpecCommon" -}}
{{- $c := .component -}}
serviceAccountName: {{ include "flink-cdc.serviceAccountName" .root }}
securityContext:
  {{- include "flink-cdc.podSecurityContext" .root | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.terminationGracePeriodSeconds }}
terminationGracePeriodSeconds: {{ . }}
{{- end }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* Pod template metadata: chart labels, the component, the user's labels and annotations (the selector labels always win). Include with (dict "root" $ "name" "jobmanager" "component" .Values.jobmanager "annotations" DICT). */}}
{{- define "flink-cdc.podMetadata" -}}
{{- $labels := merge (include "flink-cdc.labels" .root | fromYaml) (dict "app.kubernetes.io/component" .name) (.component.podLabels | default dict) }}
labels:
  {{- toYaml $labels | nindent 2 }}
{{- $annotations := merge (deepCopy (.annotations | default dict)) (.component.podAnnotations | default dict) }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
What the JobManager pods are made of, hashed: a change restarts them (through the pod template),
names the bootstrap Job (so a changed JobManager gets a new bootstrap run that checks the CDC job
survived, and resubmits it if not), and is handed to the JobManager as a configuration entry the
bootstrap Job reads back over REST, to know it talks to the new JobManager and not an old one
still shutting down.
*/}}
{{- define "flink-cdc.jobmanagerRevision" -}}
{{- $parts := list (include "flink-cdc.confText" .) (include "flink-cdc.image" .) (toJson .Values.jobmanager) (toJson .Values.env) (toJson .Values.secrets) (toJson .Values.libs) (toJson .Values.plugins) (toJson .Values.persistence) -}}
{{- join "\n" $parts | sha256sum | trunc 12 -}}
{{- end -}}
