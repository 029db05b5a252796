// title: Cross-AZ traffic
// description: Edges between addresses in different availability zones (their az ids), both directions, most bytes first, with an estimated transfer cost.
// param: price float 0.02 Dollars per GiB crossing zones: AWS charges $0.01/GiB out of one AZ and $0.01/GiB into the other (EC2 "Data Transfer within the same AWS Region", checked 2026-12-02).
// param: k int 200 How many edges to return.
MATCH (s:Address)-[f:FLOW]->(d:Address)
WHERE s.az IS NOT NULL AND d.az IS NOT NULL AND s.az <> d.az
RETURN s.id AS src, s.name AS src_name, s.scope AS src_scope, s.group AS src_group, s.network AS src_network,
       d.id AS dst, d.name AS dst_name, d.scope AS dst_scope, d.group AS dst_group, d.network AS dst_network,
       f.port AS port, f.protocol AS protocol, f.action AS action,
       f.count AS count, f.packets AS packets, f.bytes AS bytes,
       f.first_seen AS first_seen, f.last_seen AS last_seen,
       s.az AS src_az, d.az AS dst_az, f.bytes * $price / 1073741824.0 AS cost
ORDER BY bytes DESC, src, dst, port
LIMIT $k
