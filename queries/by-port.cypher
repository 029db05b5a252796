// title: Who uses a port
// description: Every edge on one service port: who serves it, who calls it (requests and their replies both carry the service port).
// param: port int 443 The service port.
MATCH (s:Address)-[f:FLOW]->(d:Address)
WHERE f.port = $port
RETURN s.id AS src, s.name AS src_name, s.scope AS src_scope, s.group AS src_group, s.network AS src_network,
       d.id AS dst, d.name AS dst_name, d.scope AS dst_scope, d.group AS dst_group, d.network AS dst_network,
       f.port AS port, f.protocol AS protocol, f.action AS action,
       f.count AS count, f.packets AS packets, f.bytes AS bytes,
       f.first_seen AS first_seen, f.last_seen AS last_seen
ORDER BY count DESC, src, dst, protocol
