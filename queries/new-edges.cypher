// title: New edges
// description: Edges first seen at or after a time, newest first.
// param: since time 0 Epoch seconds or ISO 8601 (2026-01-01, 2026-01-01T06:00:00Z; no zone means UTC).
// param: k int 200 How many edges to return.
MATCH (s:Address)-[f:FLOW]->(d:Address)
WHERE f.first_seen >= $since
RETURN s.id AS src, s.name AS src_name, s.scope AS src_scope, s.group AS src_group, s.network AS src_network, s.pseudonymized AS src_pseudonymized,
       d.id AS dst, d.name AS dst_name, d.scope AS dst_scope, d.group AS dst_group, d.network AS dst_network, d.pseudonymized AS dst_pseudonymized,
       f.port AS port, f.protocol AS protocol, f.action AS action,
       f.count AS count, f.packets AS packets, f.bytes AS bytes,
       f.first_seen AS first_seen, f.last_seen AS last_seen
ORDER BY first_seen DESC, src, dst, port
LIMIT $k
