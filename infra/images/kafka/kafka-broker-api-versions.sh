#!/bin/sh
# Kafka's own tool, as in the official distribution: prints the API versions a broker supports.
exec java -Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.yaml -cp '/opt/kafka/libs/*' \
  org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
