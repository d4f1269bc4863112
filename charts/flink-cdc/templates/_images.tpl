{{/*
An image reference from global.imageRegistry and one image's repository, tag and digest.

- The registry is prefixed only to a repository that names none: `registry.example.com/flink`
  under `global.imageRegistry: registry.example.com` stays as it is (the specification's own
  values), where plain joining gave registry.example.com/registry.example.com/flink.
- A repository that names a different registry host than global.imageRegistry stops the render:
  in an enclave only the internal registry answers, so such a pull could never work.
- A digest wins over the tag (`repo@sha256:…`); the tag must be a string (values.schema.json and
  flink-cdc.validate refuse a number, which YAML makes of an unquoted 1.20: it would render 1.2).
Include with (dict "root" $ "image" .Values.image "name" "image").
*/}}
{{- define "flink-cdc.imageRef" -}}
{{- $registry := trimSuffix "/" (toString (.root.Values.global.imageRegistry | default "")) -}}
{{- $repository := .image.repository -}}
{{- $first := first (splitList "/" $repository) -}}
{{- $namesHost := and (contains "/" $repository) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) -}}
{{- if and $registry (not $namesHost) -}}
{{- $repository = printf "%s/%s" $registry $repository -}}
{{- else if and $registry $namesHost (not (hasPrefix (printf "%s/" $registry) $repository)) -}}
{{- $registryHost := first (splitList "/" $registry) -}}
{{- if ne $first $registryHost -}}
{{- fail (printf "%s.repository %q names the registry %s, but global.imageRegistry is %s: drop the registry from %s.repository (the chart prefixes global.imageRegistry), or empty global.imageRegistry" .name $repository $first $registry .name) -}}
{{- end -}}
{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository .image.tag -}}
{{- end -}}
{{- end -}}

{{/* Every workload names the Flink image, so the values are checked here, before anything else reads them. */}}
{{- define "flink-cdc.image" -}}
{{- include "flink-cdc.validate" . -}}
{{- include "flink-cdc.imageRef" (dict "root" . "image" .Values.image "name" "image") -}}
{{- end -}}

{{/*
Flink's version in the image as "major.minor.patch" (patch may be empty): flinkVersion when set,
else read from image.tag (1.17.1, 1.17.1-scala_2.12-java11, v1.20.0). It decides the
configuration file name and the S3 plugin's file name.
*/}}
{{- define "flink-cdc.flinkVersion" -}}
{{- $source := .Values.flinkVersion | default (toString .Values.image.tag) -}}
{{- $version := regexFind "^v?[0-9]+\\.[0-9]+(\\.[0-9]+)?" $source | trimPrefix "v" -}}
{{- if not $version -}}
{{- fail (printf "cannot tell the Flink version from image.tag %q: set flinkVersion (e.g. 1.17.1); it decides flink-conf.yaml or config.yaml and the S3 plugin's file name" $source) -}}
{{- end -}}
{{- $version -}}
{{- end -}}

{{/* "config.yaml" for Flink >= 1.19 (2.x reads nothing else), "flink-conf.yaml" before. */}}
{{- define "flink-cdc.confFile" -}}
{{- $parts := splitList "." (include "flink-cdc.flinkVersion" .) -}}
{{- $major := atoi (index $parts 0) -}}
{{- $minor := atoi (index $parts 1) -}}
{{- if or (gt $major 1) (and (eq $major 1) (ge $minor 19)) -}}config.yaml{{- else -}}flink-conf.yaml{{- end -}}
{{- end -}}

{{/*
The built-in S3 file systems to enable, as ENABLE_BUILT_IN_PLUGINS wants them (file names in
the image's opt/, ';'-separated); empty when none. plugins.s3=auto enables presto for s3:// and
s3p:// paths and hadoop for s3a:// paths found in flinkConfiguration (checkpoints, savepoints, HA
storage); an image without opt/flink-s3-fs-* then still starts with file:// paths. The file name
carries Flink's full version from the image, not the chart's appVersion.
*/}}
{{- define "flink-cdc.s3Plugins" -}}
{{- $mode := .Values.plugins.s3 | default "auto" -}}
{{- $wanted := list -}}
{{- if eq $mode "auto" -}}
{{- range $key, $value := .Values.flinkConfiguration -}}
{{- $text := toString $value -}}
{{- if or (hasPrefix "s3://" $text) (hasPrefix "s3p://" $text) -}}{{- $wanted = append $wanted "presto" -}}{{- end -}}
{{- if hasPrefix "s3a://" $text -}}{{- $wanted = append $wanted "hadoop" -}}{{- end -}}
{{- end -}}
{{- else if ne $mode "none" -}}
{{- $wanted = list $mode -}}
{{- end -}}
{{- $files := list -}}
{{- if $wanted -}}
{{- $version := include "flink-cdc.flinkVersion" . -}}
{{- if ne (len (splitList "." $version)) 3 -}}
{{- fail (printf "the S3 plugin's file name needs Flink's full version, and image.tag gives only %s: set flinkVersion (e.g. 1.17.1), or plugins.s3=none" $version) -}}
{{- end -}}
{{- range $fs := $wanted | uniq | sortAlpha -}}
{{- $files = append $files (printf "flink-s3-fs-%s-%s.jar" $fs $version) -}}
{{- end -}}
{{- end -}}
{{- join ";" $files -}}
{{- end -}}
