// title: Scanners
// description: Sources REJECTed on many ports or many hosts, with all their REJECT edges.
// param: min_ports int 3 Flag a source REJECTed on at least this many distinct ports...
// param: min_hosts int 3 ...or on at least this many distinct destination addresses.
MATCH (s:Address)-[r:FLOW]->(t:Address)
WHERE r.action = 'REJECT'
WITH s, count(DISTINCT r.port) AS ports, count(DISTINCT t) AS hosts
WHERE ports >= $min_ports OR hosts >= $min_hosts
MATCH (s)-[f:FLOW]->(d:Address)
WHERE f.action = 'REJECT'
RETURN s.id AS src, s.name AS src_name, s.scope AS src_scope, s.group AS src_group, s.network AS src_network,
       d.id AS dst, d.name AS dst_name, d.scope AS dst_scope, d.group AS dst_group, d.network AS dst_network,
       f.port AS port, f.protocol AS protocol, f.action AS action,
       f.count AS count, f.packets AS packets, f.bytes AS bytes,
       f.first_seen AS first_seen, f.last_seen AS last_seen,
       ports AS rejected_ports, hosts AS rejected_hosts
ORDER BY rejected_ports + rejected_hosts DESC, src, count DESC, dst, port
