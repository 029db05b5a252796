// title: Edges by name
// description: Edges merged by name (or group): addresses that share one become one end, one row per pair of ends and service.
// param: key string name Merge the addresses that share this property.
// choices: key=name|group
// param: k int 200 How many merged edges to return.
// param: since time null Count only the time buckets that start at or after this (epoch seconds, or ISO 8601 such as 2026-01-05); null: from the first.
// param: until time null ...and before this; null: to the last.
MATCH (s:Address)-[f:FLOW]->(d:Address)
// The window: an edge's totals without since/until, else the sums of its buckets starting in [since, until).
WITH s, d, f, CASE WHEN $since IS NULL AND $until IS NULL THEN [f.count, f.packets, f.bytes]
     ELSE reduce(t = [0, 0, 0], i IN range(0, size(coalesce(f.buckets, [])) - 1) |
                 CASE WHEN coalesce(f.buckets[i] >= $since, true) AND coalesce(f.buckets[i] < $until, true)
                      THEN [t[0] + f.bucket_count[i], t[1] + f.bucket_packets[i], t[2] + f.bucket_bytes[i]] ELSE t END)
     END AS w
WHERE w[0] > 0
WITH f, w, s, d, CASE $key WHEN 'group' THEN s.group ELSE s.name END AS s_key,
     CASE $key WHEN 'group' THEN d.group ELSE d.name END AS d_key
// A merged end is drawn under its key; an address without the key keeps its id and its name.
// An address without the key stays one of its network (10.0.3.30 of two VPCs is two ends).
WITH f, w, s, d, coalesce(s_key, s.id) AS src, coalesce(d_key, d.id) AS dst,
     CASE WHEN $key = 'name' OR s_key IS NULL THEN s.name END AS src_name,
     CASE WHEN $key = 'name' OR d_key IS NULL THEN d.name END AS dst_name,
     CASE WHEN s_key IS NULL THEN s.network END AS src_network,
     CASE WHEN d_key IS NULL THEN d.network END AS dst_network,
     CASE WHEN s_key IS NULL THEN s.pseudonymized END AS src_pseudonymized,
     CASE WHEN d_key IS NULL THEN d.pseudonymized END AS dst_pseudonymized
WITH src, src_name, src_network, src_pseudonymized, dst, dst_name, dst_network, dst_pseudonymized, f.port AS port, f.protocol AS protocol, f.action AS action,
     collect(DISTINCT s.scope) AS src_scopes, collect(DISTINCT s.group) AS src_groups,
     collect(DISTINCT d.scope) AS dst_scopes, collect(DISTINCT d.group) AS dst_groups,
     count(DISTINCT s) AS src_addresses, count(DISTINCT d) AS dst_addresses,
     sum(w[0]) AS count, sum(w[1]) AS packets, sum(w[2]) AS bytes,
     min(f.first_seen) AS first_seen, max(f.last_seen) AS last_seen
// An end keeps a scope or group only when all its addresses share it (collect skips nulls).
RETURN src, src_name, CASE WHEN size(src_scopes) = 1 THEN src_scopes[0] END AS src_scope,
       CASE WHEN size(src_groups) = 1 THEN src_groups[0] END AS src_group, src_network, src_pseudonymized,
       dst, dst_name, CASE WHEN size(dst_scopes) = 1 THEN dst_scopes[0] END AS dst_scope,
       CASE WHEN size(dst_groups) = 1 THEN dst_groups[0] END AS dst_group, dst_network, dst_pseudonymized,
       port, protocol, action, count, packets, bytes, first_seen, last_seen, src_addresses, dst_addresses
ORDER BY count DESC, src, dst, port
LIMIT $k
