"""CloudEvents 1.0 over Kafka (structured mode), typed payloads, topic declarations."""
