#!/bin/bash
# Writes /opt/kafka/config/server.properties from the KAFKA_* environment, formats the storage with
# CLUSTER_ID on first start, then runs the broker as `appuser`.
set -euo pipefail
if [[ "${1:-}" != kafka ]]; then exec "$@"; fi

# Variables of the JVM and of this script, not server properties.
not_properties=' KAFKA_HEAP_OPTS KAFKA_JVM_PERFORMANCE_OPTS KAFKA_OPTS KAFKA_LOG4J_OPTS KAFKA_DEBUG '
config=/opt/kafka/config/server.properties
: > "$config"
while IFS='=' read -r name value; do
  [[ "$name" == KAFKA_* && "$not_properties" != *" $name "* ]] || continue
  key="${name#KAFKA_}"
  key="${key,,}"
  key="${key//___/-}"
  key="${key//__/@}"
  key="${key//_/.}"
  key="${key//@/_}"
  printf '%s=%s\n' "$key" "$value" >> "$config"
done < <(env)
grep -q '^log\.dirs=' "$config" || echo 'log.dirs=/var/lib/kafka/data' >> "$config"
log_dirs="$(sed -n 's/^log\.dirs=//p' "$config" | cut -d, -f1)"

run_as_appuser() { setpriv --reuid=appuser --regid=appuser --init-groups "$@"; }
mkdir -p "$log_dirs"
chown appuser:appuser "$log_dirs" "$config"

classpath='/opt/kafka/libs/*'
if [[ ! -f "$log_dirs/meta.properties" ]]; then
  : "${CLUSTER_ID:?CLUSTER_ID must be set to format empty storage}"
  run_as_appuser java -Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.yaml -cp "$classpath" \
    kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$config" --ignore-formatted
fi

# shellcheck disable=SC2086
exec setpriv --reuid=appuser --regid=appuser --init-groups java \
  ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} \
  ${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true} \
  -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.yaml ${KAFKA_OPTS:-} \
  -cp "$classpath" kafka.Kafka "$config"
