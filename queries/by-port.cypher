// title: Who uses a port
// description: Every edge on one service port: who serves it, who calls it (requests and their replies both carry the service port).
// param: port int 443 The service port.
// param: since time null Count only the time buckets that start at or after this (epoch seconds, or ISO 8601 such as 2026-01-05); null: from the first.
// param: until time null ...and before this; null: to the last.
MATCH (s:Address)-[f:FLOW]->(d:Address)
WHERE f.port = $port
// The window: an edge's totals without since/until, else the sums of its buckets starting in [since, until).
WITH s, d, f, CASE WHEN $since IS NULL AND $until IS NULL THEN [f.count, f.packets, f.bytes]
     ELSE reduce(t = [0, 0, 0], i IN range(0, size(coalesce(f.buckets, [])) - 1) |
                 CASE WHEN coalesce(f.buckets[i] >= $since, true) AND coalesce(f.buckets[i] < $until, true)
                      THEN [t[0] + f.bucket_count[i], t[1] + f.bucket_packets[i], t[2] + f.bucket_bytes[i]] ELSE t END)
     END AS w
WHERE w[0] > 0
RETURN s.id AS src, s.name AS src_name, s.scope AS src_scope, s.group AS src_group, s.network AS src_network, s.pseudonymized AS src_pseudonymized,
       d.id AS dst, d.name AS dst_name, d.scope AS dst_scope, d.group AS dst_group, d.network AS dst_network, d.pseudonymized AS dst_pseudonymized,
       f.port AS port, f.protocol AS protocol, f.action AS action,
       w[0] AS count, w[1] AS packets, w[2] AS bytes,
       f.first_seen AS first_seen, f.last_seen AS last_seen
ORDER BY count DESC, src, dst, protocol
