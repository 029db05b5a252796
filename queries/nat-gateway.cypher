// title: NAT gateway processing
// description: What each NAT gateway (role nat-gateway) processes: its edges with the addresses inside (both directions, each byte it processes once), who sends most first, with the gateway's total and an estimated processing cost.
// param: price float 0.045 Dollars per GiB processed (AWS NAT gateway data processing in us-east-1, checked 2026-12-02; other regions differ).
// param: k int 200 How many edges to return.
// param: since time null Count only the time buckets that start at or after this (epoch seconds, or ISO 8601 such as 2026-01-05); null: from the first.
// param: until time null ...and before this; null: to the last.
MATCH (s:Address)-[f:FLOW]->(d:Address)
WHERE (s.role = 'nat-gateway' AND d.scope IN ['vpc', 'private']) OR (d.role = 'nat-gateway' AND s.scope IN ['vpc', 'private'])
// The window: an edge's totals without since/until, else the sums of its buckets starting in [since, until).
WITH s, d, f, CASE WHEN $since IS NULL AND $until IS NULL THEN [f.count, f.packets, f.bytes]
     ELSE reduce(t = [0, 0, 0], i IN range(0, size(coalesce(f.buckets, [])) - 1) |
                 CASE WHEN coalesce(f.buckets[i] >= $since, true) AND coalesce(f.buckets[i] < $until, true)
                      THEN [t[0] + f.bucket_count[i], t[1] + f.bucket_packets[i], t[2] + f.bucket_bytes[i]] ELSE t END)
     END AS w
WHERE w[0] > 0
WITH s, d, f, w, CASE WHEN s.role = 'nat-gateway' THEN s ELSE d END AS g
WITH g, collect([s, d, f, w]) AS through, sum(w[2]) AS gateway_bytes
UNWIND through AS row
WITH g, gateway_bytes, row[0] AS s, row[1] AS d, row[2] AS f, row[3] AS w
RETURN s.id AS src, s.name AS src_name, s.scope AS src_scope, s.group AS src_group, s.network AS src_network, s.pseudonymized AS src_pseudonymized,
       d.id AS dst, d.name AS dst_name, d.scope AS dst_scope, d.group AS dst_group, d.network AS dst_network, d.pseudonymized AS dst_pseudonymized,
       f.port AS port, f.protocol AS protocol, f.action AS action,
       w[0] AS count, w[1] AS packets, w[2] AS bytes,
       f.first_seen AS first_seen, f.last_seen AS last_seen,
       coalesce(g.name, g.key) AS gateway, gateway_bytes, gateway_bytes * $price / 1073741824.0 AS gateway_cost,
       w[2] * $price / 1073741824.0 AS cost
ORDER BY bytes DESC, src, dst, port
LIMIT $k
