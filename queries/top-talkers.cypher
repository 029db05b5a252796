// title: Top talkers
// description: The K addresses that send and receive the most bytes, with what goes out and what comes in.
// param: k int 20 How many addresses to return.
MATCH (a:Address)
OPTIONAL MATCH (a)-[o:FLOW]->(:Address)
WITH a, coalesce(sum(o.bytes), 0) AS bytes_out, coalesce(sum(o.count), 0) AS count_out
OPTIONAL MATCH (a)<-[i:FLOW]-(:Address)
WITH a, bytes_out, count_out, coalesce(sum(i.bytes), 0) AS bytes_in, coalesce(sum(i.count), 0) AS count_in
RETURN a.id AS id, a.name AS name, a.scope AS scope, a.group AS group, a.network AS network,
       bytes_out, bytes_in, bytes_out + bytes_in AS bytes, count_out, count_in
ORDER BY bytes DESC, id
LIMIT $k
