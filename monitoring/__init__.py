"""What the processes report about themselves for operators: the Prometheus metrics (monitoring.metrics)."""
