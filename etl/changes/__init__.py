"""Change over time: what the time buckets say about a window against another (diff), and the rules
that turn change into alerts (alerts, watch)."""
