// title: Top talkers
// description: The K addresses that send and receive the most bytes, with what goes out and what comes in.
// param: k int 20 How many addresses to return.
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
UNWIND [[s, w, 1], [d, w, 0]] AS side
WITH side[0] AS a, side[1] AS w, side[2] AS out
WITH a, sum(w[2] * out) AS bytes_out, sum(w[0] * out) AS count_out, sum(w[2] * (1 - out)) AS bytes_in,
     sum(w[0] * (1 - out)) AS count_in
RETURN a.id AS id, a.name AS name, a.scope AS scope, a.group AS group, a.network AS network, a.pseudonymized AS pseudonymized,
       bytes_out, bytes_in, bytes_out + bytes_in AS bytes, count_out, count_in
ORDER BY bytes DESC, id
LIMIT $k
