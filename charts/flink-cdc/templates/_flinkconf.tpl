{{/*
Flink's configuration as the chart writes it. Everything here is built once, as a JSON object of
strings ("flink-cdc.conf"), and written by configmap.yaml in the form the image's Flink reads.
*/}}

{{/*
A value as Flink should read it. Helm hands YAML numbers to templates as float64, and toString
of 1000000 is "1e+06", which Flink cannot parse as an integer or a duration: whole numbers are
written as integers, and a fraction that would need an exponent is refused.
Include with (dict "key" KEY "value" VALUE).
*/}}
{{- define "flink-cdc.confValue" -}}
{{- $value := .value -}}
{{- if kindIs "float64" $value -}}
{{- if eq $value (float64 (int64 $value)) -}}
{{- int64 $value -}}
{{- else -}}
{{- $text := toString $value -}}
{{- if contains "e" $text -}}
{{- fail (printf "flinkConfiguration.%s is the number %s, which Flink cannot read: write it as a quoted string" .key $text) -}}
{{- end -}}
{{- $text -}}
{{- end -}}
{{- else -}}
{{- toString $value | trim -}}
{{- end -}}
{{- end -}}

{{/*
Kubernetes memory quantity (4Gi, 4096Mi, 4G, 4294967296) in whole MiB, rounded down.
Include with (dict "value" QUANTITY "name" "jobmanager.resources.limits.memory").
*/}}
{{- define "flink-cdc.quantityMiB" -}}
{{- $bytes := 0.0 -}}
{{- if or (kindIs "float64" .value) (kindIs "int64" .value) (kindIs "int" .value) -}}
{{- $bytes = float64 .value -}}
{{- else -}}
{{- $text := trim (toString .value) -}}
{{- if not (regexMatch "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$" $text) -}}
{{- fail (printf "%s %q is not a memory quantity the chart can turn into Flink memory (e.g. 4Gi, 4096Mi, 4G): write it so, or set the Flink memory explicitly in flinkConfiguration" .name $text) -}}
{{- end -}}
{{- $number := float64 (regexFind "^[0-9]+(\\.[0-9]+)?" $text) -}}
{{- $suffix := regexReplaceAll "^[0-9]+(\\.[0-9]+)?" $text "" -}}
{{- $factors := dict "" 1.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 -}}
{{- $bytes = mulf $number (index $factors $suffix) -}}
{{- end -}}
{{- int64 (floor (divf $bytes 1048576.0)) -}}
{{- end -}}

{{/*
A Flink memory size (2048m, 4g, 1536 mb, 1073741824) in whole MiB, as Flink's MemorySize reads it
(binary units). Include with (dict "value" VALUE "name" KEY).
*/}}
{{- define "flink-cdc.flinkSizeMiB" -}}
{{- $text := lower (trim (toString .value)) -}}
{{- if not (regexMatch "^[0-9]+ *(b|bytes|k|kb|kibibytes|m|mb|mebibytes|g|gb|gibibytes|t|tb|tebibytes)?$" $text) -}}
{{- fail (printf "flinkConfiguration.%s %q is not a memory size Flink reads (e.g. 2048m, 4g)" .name $text) -}}
{{- end -}}
{{- $number := float64 (regexFind "^[0-9]+" $text) -}}
{{- $unit := trim (regexReplaceAll "^[0-9]+" $text "") -}}
{{- $factor := 1.0 -}}
{{- if hasPrefix "k" $unit -}}{{- $factor = 1024.0 -}}
{{- else if hasPrefix "m" $unit -}}{{- $factor = 1048576.0 -}}
{{- else if hasPrefix "g" $unit -}}{{- $factor = 1073741824.0 -}}
{{- else if hasPrefix "t" $unit -}}{{- $factor = 1099511627776.0 -}}
{{- end -}}
{{- int64 (floor (divf (mulf $number $factor) 1048576.0)) -}}
{{- end -}}

{{/*
<component>.memory.process.size: the value in flinkConfiguration when set there (it must fit in
the container's memory limit), else the whole of resources.limits.memory.
Why the whole limit: Flink's process size already is everything the JVM takes (heap, managed and
network memory, metaspace and the jvm-overhead fraction for native memory); Flink's native
Kubernetes integration and the Flink Kubernetes Operator size the container to exactly this
number. A smaller ratio would only leave memory unused.
Include with (dict "root" $ "component" "jobmanager").
*/}}
{{- define "flink-cdc.processMemory" -}}
{{- $key := printf "%s.memory.process.size" .component -}}
{{- $limit := ((index .root.Values .component).resources | default dict).limits | default dict -}}
{{- $explicit := index .root.Values.flinkConfiguration $key -}}
{{- $flinkSize := index .root.Values.flinkConfiguration (printf "%s.memory.flink.size" .component) -}}
{{- if $explicit -}}
{{- $explicitMiB := include "flink-cdc.flinkSizeMiB" (dict "value" $explicit "name" $key) | int64 -}}
{{- if $limit.memory -}}
{{- $limitMiB := include "flink-cdc.quantityMiB" (dict "value" $limit.memory "name" (printf "%s.resources.limits.memory" .component)) | int64 -}}
{{- if gt $explicitMiB $limitMiB -}}
{{- fail (printf "flinkConfiguration.%s is %s, more than %s.resources.limits.memory %v: the container would be OOM-killed; lower it or raise the limit" $key (toString $explicit) .component $limit.memory) -}}
{{- end -}}
{{- end -}}
{{- include "flink-cdc.confValue" (dict "key" $key "value" $explicit) -}}
{{- else if $flinkSize -}}
{{/* Flink derives the process size from memory.flink.size itself. */}}
{{- else if $limit.memory -}}
{{- printf "%dm" (include "flink-cdc.quantityMiB" (dict "value" $limit.memory "name" (printf "%s.resources.limits.memory" .component)) | int64) -}}
{{- else -}}
{{- fail (printf "%s has no resources.limits.memory and flinkConfiguration has no %s: Flink will not start without a process size; set one of them" .component $key) -}}
{{- end -}}
{{- end -}}

{{/*
The HA mode Flink will run with, lower case: "kubernetes", "zookeeper", a factory class name, or
"" (none). high-availability.type (Flink >= 1.17) or its older key high-availability; more than
one JobManager without either means Kubernetes HA.
*/}}
{{- define "flink-cdc.haMode" -}}
{{- $conf := .Values.flinkConfiguration -}}
{{- $mode := toString (index $conf "high-availability.type" | default (index $conf "high-availability") | default "") | trim -}}
{{- if contains "KubernetesHaServicesFactory" $mode -}}{{- $mode = "kubernetes" -}}{{- end -}}
{{- $mode = lower $mode -}}
{{- if eq $mode "none" -}}{{- $mode = "" -}}{{- end -}}
{{- if and (not $mode) (gt (int .Values.jobmanager.replicas) 1) -}}{{- $mode = "kubernetes" -}}{{- end -}}
{{- $mode -}}
{{- end -}}

{{- define "flink-cdc.haEnabled" -}}
{{- if include "flink-cdc.haMode" . -}}true{{- end -}}
{{- end -}}

{{- define "flink-cdc.kubernetesHa" -}}
{{- if eq (include "flink-cdc.haMode" .) "kubernetes" -}}true{{- end -}}
{{- end -}}

{{/* Keys the chart sets itself, and what to change instead. */}}
{{- define "flink-cdc.ownedKeys" -}}
jobmanager.rpc.address: the chart points it at the JobManager Service (the pod IP under HA)
jobmanager.rpc.port: the chart uses 6123, as its Services and probes do
high-availability.jobmanager.port: the chart uses 6123 under HA, as its Services and probes do
blob.server.port: the chart uses 6124, as its Services do
rest.port: the chart uses 8081, as its Services and probes do
rest.address: the chart points it at the JobManager Service
taskmanager.rpc.port: the chart uses 6122, as its probes do
taskmanager.numberOfTaskSlots: set taskmanager.slots
kubernetes.namespace: the chart sets the release namespace
{{- end -}}

{{/* The whole configuration as a JSON object of strings. */}}
{{- define "flink-cdc.conf" -}}
{{- $fullname := include "flink-cdc.fullname" . -}}
{{- $owned := include "flink-cdc.ownedKeys" . | fromYaml -}}
{{- $conf := dict -}}
{{- range $key, $value := .Values.flinkConfiguration -}}
{{- if hasKey $owned $key -}}
{{- fail (printf "flinkConfiguration.%s is set by the chart (%s)" $key (index $owned $key)) -}}
{{- end -}}
{{- $_ := set $conf $key (include "flink-cdc.confValue" (dict "key" $key "value" $value)) -}}
{{- end -}}
{{- $_ := set $conf "jobmanager.rpc.address" (printf "%s-jobmanager" $fullname) -}}
{{- $_ := set $conf "jobmanager.rpc.port" "6123" -}}
{{- $_ := set $conf "jobmanager.bind-host" "0.0.0.0" -}}
{{- $_ := set $conf "blob.server.port" "6124" -}}
{{- $_ := set $conf "rest.port" "8081" -}}
{{- $_ := set $conf "rest.address" (printf "%s-jobmanager" $fullname) -}}
{{- $_ := set $conf "rest.bind-address" "0.0.0.0" -}}
{{- $_ := set $conf "taskmanager.numberOfTaskSlots" (toString (int .Values.taskmanager.slots)) -}}
{{- $_ := set $conf "taskmanager.rpc.port" "6122" -}}
{{- $_ := set $conf "taskmanager.bind-host" "0.0.0.0" -}}
{{- if not (hasKey $conf "io.tmp.dirs") -}}{{- $_ := set $conf "io.tmp.dirs" "/tmp" -}}{{- end -}}
{{- if not (hasKey $conf "state.backend.rocksdb.localdir") -}}{{- $_ := set $conf "state.backend.rocksdb.localdir" "/opt/flink/rocksdb" -}}{{- end -}}
{{- if and (include "flink-cdc.jobmanagerVolume" .) (not (hasKey $conf "web.upload.dir")) -}}
{{- $_ := set $conf "web.upload.dir" "/opt/flink/data/web-upload" -}}
{{- end -}}
{{- $_ := set $conf "sql-gateway.endpoint.rest.address" (printf "%s-sqlgateway" $fullname) -}}
{{- $_ := set $conf "sql-gateway.endpoint.rest.bind-address" "0.0.0.0" -}}
{{- $_ := set $conf "sql-gateway.endpoint.rest.port" "8083" -}}
{{- range $component := list "jobmanager" "taskmanager" -}}
{{- $size := include "flink-cdc.processMemory" (dict "root" $ "component" $component) -}}
{{- if $size -}}{{- $_ := set $conf (printf "%s.memory.process.size" $component) $size -}}{{- end -}}
{{- end -}}
{{- if include "flink-cdc.haEnabled" . -}}
{{- if not (or (hasKey $conf "high-availability.type") (hasKey $conf "high-availability")) -}}
{{- $_ := set $conf "high-availability.type" "kubernetes" -}}
{{- end -}}
{{- if not (hasKey $conf "high-availability.cluster-id") -}}{{- $_ := set $conf "high-availability.cluster-id" $fullname -}}{{- end -}}
{{- /* Under HA Flink binds the JobManager's RPC to high-availability.jobmanager.port (random by
default), not jobmanager.rpc.port: the liveness probe on 6123 then restarts every JobManager. */ -}}
{{- $_ := set $conf "high-availability.jobmanager.port" "6123" -}}
{{- end -}}
{{- if include "flink-cdc.kubernetesHa" . -}}
{{- if not (hasKey $conf "kubernetes.cluster-id") -}}{{- $_ := set $conf "kubernetes.cluster-id" $fullname -}}{{- end -}}
{{- $_ := set $conf "kubernetes.namespace" (.Release.Namespace | default "default") -}}
{{- end -}}
{{- if .Values.monitoring.serviceMonitor.enabled -}}
{{- $_ := set $conf "metrics.reporter.prom.factory.class" "org.apache.flink.metrics.prometheus.PrometheusReporterFactory" -}}
{{- $_ := set $conf "metrics.reporter.prom.port" (toString (int .Values.monitoring.port)) -}}
{{- end -}}
{{- toJson $conf -}}
{{- end -}}

{{/*
The configuration file's text.

flink-conf.yaml (Flink < 1.19) is not YAML to Flink: GlobalConfiguration reads it line by line,
cuts each line at the first '#', splits it at the first ": ", trims both sides and keeps the rest
as the value, quotes included; an empty key or value is skipped. So values are written bare, and
what that reading would change is refused here: a '#' (cut as a comment), a line break (the rest
becomes another line), an empty value (skipped). The official image's entrypoint also runs
envsubst over this file in the JobManager and TaskManagers (not in the SQL Gateway or bootstrap
Job, which start Flink's scripts directly), so "$NAME" is refused too: it would differ by pod.

config.yaml (Flink >= 1.19; 2.x reads nothing else) is standard YAML: flattened keys, each value
a YAML double-quoted string (JSON's quoting), which Flink converts to the option's type.
*/}}
{{- define "flink-cdc.confText" -}}
{{- $conf := include "flink-cdc.conf" . | fromJson -}}
{{- $file := include "flink-cdc.confFile" . -}}
{{- range $key := keys $conf | sortAlpha -}}
{{- $value := index $conf $key -}}
{{- if not (regexMatch "^[A-Za-z0-9_.$-]+$" $key) -}}
{{- fail (printf "flinkConfiguration key %q: a Flink option name has only letters, digits, '.', '-' and '_'" $key) -}}
{{- end -}}
{{- if eq $file "flink-conf.yaml" -}}
{{- if eq $value "" -}}
{{- fail (printf "flinkConfiguration.%s is empty: Flink 1.17 skips a key with an empty value; remove the key or give it a value" $key) -}}
{{- end -}}
{{- if contains "#" $value -}}
{{- fail (printf "flinkConfiguration.%s contains '#': Flink < 1.19 reads flink-conf.yaml line by line and cuts every line at '#' (quotes do not protect it), so the value would arrive cut; Flink has no escape for it" $key) -}}
{{- end -}}
{{- if or (contains "\n" $value) (contains "\r" $value) -}}
{{- fail (printf "flinkConfiguration.%s spans more than one line: flink-conf.yaml has one key: value per line; write it on one line (lists take ';' between items)" $key) -}}
{{- end -}}
{{- if regexMatch "\\$(\\{|[A-Za-z_])" $value -}}
{{- fail (printf "flinkConfiguration.%s contains a $NAME: the Flink image's entrypoint runs envsubst over flink-conf.yaml in the JobManager and TaskManagers only, so the value would differ between pods; write it literally" $key) -}}
{{- end }}
{{ $key }}: {{ $value }}
{{- else }}
{{ $key }}: {{ toJson $value }}
{{- end -}}
{{- end -}}
{{- end -}}
