"""Sources a server pulls or subscribes to: MQTT topics, feeds fetched on a schedule."""
