// title: Talks to
// description: The neighbourhood of a name or an address: its edges in both directions, and at depth 2 its neighbours' edges too.
// param: who string database A name (every address that has it), an address (in every network), or one address of one network (vpc-0abc/10.0.3.30).
// param: depth int 1 1: its own edges; 2: its neighbours' edges as well.
// choices: depth=1|2
MATCH (a:Address)
WHERE a.id = $who OR a.key = $who OR a.name = $who
OPTIONAL MATCH (a)-[:FLOW]-(n:Address)
WHERE $depth >= 2
WITH collect(DISTINCT a) + collect(DISTINCT n) AS centres
UNWIND centres AS c
MATCH (c)-[f:FLOW]-(:Address)
WITH DISTINCT f
WITH f, startNode(f) AS s, endNode(f) AS d
RETURN s.id AS src, s.name AS src_name, s.scope AS src_scope, s.group AS src_group, s.network AS src_network,
       d.id AS dst, d.name AS dst_name, d.scope AS dst_scope, d.group AS dst_group, d.network AS dst_network,
       f.port AS port, f.protocol AS protocol, f.action AS action,
       f.count AS count, f.packets AS packets, f.bytes AS bytes,
       f.first_seen AS first_seen, f.last_seen AS last_seen
ORDER BY count DESC, src, dst, port
