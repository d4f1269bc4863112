#!/bin/bash
# Entrypoint of airgap's Flink 1.17.1 test image. It behaves as the official flink:1.17 image's
# entrypoint does for the commands a chart uses, so a chart that runs on this image meets the same
# surprises on the official one:
#   jobmanager | taskmanager | standalone-job | history-server [ARGS]  start that process in the
#       foreground (bin/<name>.sh start-foreground ARGS), as user flink when started as root;
#   help  prints the usage; anything else runs as given (pass-through).
# Before that, like the official image, it edits conf/flink-conf.yaml in place:
#   jobmanager.rpc.address <- $JOB_MANAGER_RPC_ADDRESS, or this container's `hostname -f`;
#   blob.server.port 6124, query.server.port 6125; taskmanager.numberOfTaskSlots <-
#   $TASK_MANAGER_NUMBER_OF_TASK_SLOTS; $FLINK_PROPERTIES appended; ${VARS} substituted.
# A read-only conf/ (a ConfigMap mount) makes those edits fail with a message on stderr and the
# process starts on the file as mounted: the official script does not stop there either.
# ENABLE_BUILT_IN_PLUGINS="a.jar;b.jar" links opt/<jar> into plugins/<name>/ and stops if absent.
# DISABLE_JEMALLOC=true keeps glibc's allocator.

conf_file="${FLINK_HOME:=/opt/flink}/conf/flink-conf.yaml"
rpc_address=${JOB_MANAGER_RPC_ADDRESS:-$(hostname -f)}

as_flink() {
  if [ "$(id -u)" = 0 ]; then
    exec gosu flink "$@"
  fi
  exec "$@"
}

link_plugins() {
  [ -n "${ENABLE_BUILT_IN_PLUGINS:-}" ] || return 0
  echo "Enabling required built-in plugins"
  local jar
  for jar in ${ENABLE_BUILT_IN_PLUGINS//;/ }; do
    local dir="$FLINK_HOME/plugins/${jar%.jar}"
    echo "Linking $jar to plugin directory"
    if [ ! -e "$FLINK_HOME/opt/$jar" ]; then
      echo "Plugin $jar does not exist. Exiting."
      exit 1
    fi
    mkdir -p "$dir"
    ln -fs "$FLINK_HOME/opt/$jar" "$dir"
    echo "Successfully enabled $jar"
  done
}

# Replaces the line that starts with "KEY:" (anywhere a "KEY:" occurs, as sed's pattern matches) or
# appends "KEY: VALUE".
put_option() {
  local key=$1 value=$2
  local pattern=${key//./\\.}
  if grep -qE "^${pattern}:" "$conf_file"; then
    sed -i -e "s/${pattern}:.*/${key}: ${value}/g" "$conf_file"
  else
    printf '%s: %s\n' "$key" "$value" >>"$conf_file"
  fi
}

edit_configuration() {
  put_option jobmanager.rpc.address "$rpc_address"
  put_option blob.server.port 6124
  put_option query.server.port 6125
  if [ -n "${TASK_MANAGER_NUMBER_OF_TASK_SLOTS:-}" ]; then
    put_option taskmanager.numberOfTaskSlots "$TASK_MANAGER_NUMBER_OF_TASK_SLOTS"
  fi
  if [ -n "${FLINK_PROPERTIES:-}" ]; then
    printf '%s\n' "$FLINK_PROPERTIES" >>"$conf_file"
  fi
  envsubst <"$conf_file" >"$conf_file.tmp" && mv "$conf_file.tmp" "$conf_file"
}

use_jemalloc() {
  [ "${DISABLE_JEMALLOC:-false}" = false ] || return 0
  local lib
  for lib in "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/lib/x86_64-linux-gnu/libjemalloc.so.2; do
    if [ -f "$lib" ]; then
      export LD_PRELOAD="${LD_PRELOAD:+$LD_PRELOAD:}$lib"
      return 0
    fi
  done
  echo "WARNING: jemalloc not found; glibc's allocator is used."
}

use_jemalloc
link_plugins
edit_configuration

case "${1:-help}" in
  help)
    echo "Usage: $(basename "$0") (jobmanager|standalone-job|taskmanager|history-server)"
    echo "    Or $(basename "$0") help"
    exit 0
    ;;
  jobmanager)
    shift; echo "Starting Job Manager"; as_flink "$FLINK_HOME/bin/jobmanager.sh" start-foreground "$@" ;;
  standalone-job)
    shift; echo "Starting Job Manager"; as_flink "$FLINK_HOME/bin/standalone-job.sh" start-foreground "$@" ;;
  history-server)
    shift; echo "Starting History Server"; as_flink "$FLINK_HOME/bin/historyserver.sh" start-foreground "$@" ;;
  taskmanager)
    shift; echo "Starting Task Manager"; as_flink "$FLINK_HOME/bin/taskmanager.sh" start-foreground "$@" ;;
  *)
    as_flink "$@" ;;
esac
