// title: Top edges
// description: The K busiest edges (source, destination, service port, protocol, action), ranked by flow records, bytes or packets.
// param: k int 50 How many edges to return.
// param: by string count What to rank by.
// choices: by=count|bytes|packets
MATCH (s:Address)-[f:FLOW]->(d:Address)
RETURN s.id AS src, s.name AS src_name, s.scope AS src_scope, s.group AS src_group, s.network AS src_network,
       d.id AS dst, d.name AS dst_name, d.scope AS dst_scope, d.group AS dst_group, d.network AS dst_network,
       f.port AS port, f.protocol AS protocol, f.action AS action,
       f.count AS count, f.packets AS packets, f.bytes AS bytes,
       f.first_seen AS first_seen, f.last_seen AS last_seen
// A parameter cannot name a property; a CASE over the allowed values picks one on both servers.
ORDER BY CASE $by WHEN 'bytes' THEN bytes WHEN 'packets' THEN packets ELSE count END DESC, src, dst, port
LIMIT $k
