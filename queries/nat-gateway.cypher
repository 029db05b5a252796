// title: NAT gateway processing
// description: What each NAT gateway (role nat-gateway) processes: its edges with the addresses inside (both directions, each byte it processes once), who sends most first, with the gateway's total and an estimated processing cost.
// param: price float 0.045 Dollars per GiB processed (AWS NAT gateway data processing in us-east-1, checked 2026-12-02; other regions differ).
// param: k int 200 How many edges to return.
MATCH (g:Address {role: 'nat-gateway'})-[t:FLOW]-(i:Address)
WHERE i.scope IN ['vpc', 'private']
WITH g, sum(t.bytes) AS gateway_bytes
MATCH (s:Address)-[f:FLOW]->(d:Address)
WHERE (s = g AND d.scope IN ['vpc', 'private']) OR (d = g AND s.scope IN ['vpc', 'private'])
RETURN s.id AS src, s.name AS src_name, s.scope AS src_scope, s.group AS src_group, s.network AS src_network,
       d.id AS dst, d.name AS dst_name, d.scope AS dst_scope, d.group AS dst_group, d.network AS dst_network,
       f.port AS port, f.protocol AS protocol, f.action AS action,
       f.count AS count, f.packets AS packets, f.bytes AS bytes,
       f.first_seen AS first_seen, f.last_seen AS last_seen,
       coalesce(g.name, g.key) AS gateway, gateway_bytes, gateway_bytes * $price / 1073741824.0 AS gateway_cost,
       f.bytes * $price / 1073741824.0 AS cost
ORDER BY bytes DESC, src, dst, port
LIMIT $k
