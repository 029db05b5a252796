// title: Edges above a threshold
// description: Every edge seen at least `min` times, busiest first.
// param: min int 10 The smallest number of flow records an edge needs to be shown.
MATCH (s:Address)-[f:FLOW]->(d:Address)
WHERE f.count >= $min
RETURN s.id AS src, s.name AS src_name, s.scope AS src_scope, s.group AS src_group, s.network AS src_network,
       d.id AS dst, d.name AS dst_name, d.scope AS dst_scope, d.group AS dst_group, d.network AS dst_network,
       f.port AS port, f.protocol AS protocol, f.action AS action,
       f.count AS count, f.packets AS packets, f.bytes AS bytes,
       f.first_seen AS first_seen, f.last_seen AS last_seen
ORDER BY count DESC, src, dst, port
