"""The loader's Cypher: portable openCypher only (runs on Neo4j 5 and ArcadeDB's Bolt), $params only.

A FLOW relationship carries `key`, its identity (source, destination, port, protocol, action) as one
indexed, unique string, so the loader finds an existing edge by an index seek. Finding it with
`MERGE (s)-[f:FLOW {...}]->(d)` walks the relationships of `s`: thousands on a load balancer or a NAT
gateway, for every row (measured in bench/load_speed.py).
"""

SCHEMA = (
    # An address's identity is its key (its id qualified by its network, etl/networks.py): two VPCs may
    # hold the same private id. The id stays indexed for the queries that ask for an address by it.
    "DROP CONSTRAINT address_id IF EXISTS",
    "CREATE CONSTRAINT address_key IF NOT EXISTS FOR (a:Address) REQUIRE a.key IS UNIQUE",
    "CREATE INDEX address_id_lookup IF NOT EXISTS FOR (a:Address) ON (a.id)",
    "CREATE CONSTRAINT logfile_id IF NOT EXISTS FOR (l:LogFile) REQUIRE l.id IS UNIQUE",
    # Two processes loading the same bytes under two names must not both commit: the plain index
    # the digest once had gives way to a uniqueness constraint.
    "DROP INDEX logfile_digest IF EXISTS",
    "CREATE CONSTRAINT logfile_digest_unique IF NOT EXISTS FOR (l:LogFile) REQUIRE l.digest IS UNIQUE",
    "CREATE CONSTRAINT flow_key IF NOT EXISTS FOR ()-[f:FLOW]-() REQUIRE f.key IS UNIQUE",
    # An alert fires once per rule, subject and bucket: its key says which (etl/changes/alerts.py).
    "CREATE CONSTRAINT alert_key IF NOT EXISTS FOR (x:Alert) REQUIRE x.key IS UNIQUE",
)

# The store's schema version, on one node; a store older than SCHEMA_VERSION runs MIGRATIONS once.
SCHEMA_VERSION = 2
STORED_VERSION = "OPTIONAL MATCH (v:VpcflowSchema) RETURN max(v.version) AS version"
MIGRATIONS = {
    2: "MATCH (a:Address) WHERE a.key IS NULL SET a.key = a.id",  # addresses loaded before networks
}
SET_VERSION = "MERGE (v:VpcflowSchema {name: 'vpcflow'}) SET v.version = $version"
# The length of the time buckets edges keep their counts in (seconds): chosen by the first load that
# keeps buckets, then the store's for good (windows compare bucket starts).
STORED_BUCKET = "OPTIONAL MATCH (v:VpcflowSchema) RETURN max(v.bucket) AS bucket"
SET_BUCKET = "MERGE (v:VpcflowSchema {name: 'vpcflow'}) SET v.bucket = $bucket"

# Which of these contents the ledger holds, under whatever file name: the files a load need not prepare.
LOADED_DIGESTS = """
UNWIND $digests AS digest
MATCH (l:LogFile {digest: digest})
RETURN l.digest AS digest
"""
LEDGER_ENTRIES = """
MATCH (l:LogFile) WHERE l.id = $id OR l.digest = $digest
RETURN l.id AS id, l.digest AS digest, CASE WHEN l.id = $id THEN l.contribution END AS contribution
"""

# Addresses go in two statements, the ones that exist first: an address created by this file cannot
# have an edge yet, so its edges are created without first being looked for (on a fresh store, and for
# the internet's passers-by, most of a file's edges). Both return each address's element id:
# CREATE_FLOWS reaches the endpoints by it. A plain CREATE also costs the server less than a MERGE. A
# concurrent load creating the same address fails on the uniqueness constraint and is retried.
# Each SET is one map (`+=`), for the reason given at ADD_TO_FLOWS.
UPDATE_ADDRESSES = """
UNWIND $rows AS r
MATCH (a:Address {key: r.key})
SET a += {name: r.name, group: r.group, role: r.role, scope: r.scope, network: r.network, vpc: r.vpc, account: r.account,
          subnet: r.subnet, az: r.az, eni: r.eni,
          first_seen: CASE WHEN a.first_seen IS NULL OR r.first_seen < a.first_seen
                           THEN r.first_seen ELSE a.first_seen END,
          last_seen: CASE WHEN a.last_seen IS NULL OR r.last_seen > a.last_seen
                          THEN r.last_seen ELSE a.last_seen END}
RETURN collect(a.key) AS keys, collect(elementId(a)) AS elements
"""

# `prefix` is true on a node standing for a public prefix (--public-prefix) and absent (null) on the others;
# vpc, account, subnet, az and eni likewise where they are not known.
CREATE_ADDRESSES = """
UNWIND $rows AS r
CREATE (a:Address {key: r.key, id: r.id, network: r.network, scope: r.scope, pseudonymized: r.pseudonymized, name: r.name,
                   group: r.group, role: r.role, prefix: r.prefix, vpc: r.vpc, account: r.account,
                   subnet: r.subnet, az: r.az, eni: r.eni, first_seen: r.first_seen, last_seen: r.last_seen})
RETURN collect(a.key) AS keys, collect(elementId(a)) AS elements
"""

# `f.key IN $keys` is what both servers answer from the relationship index; $rows maps each key to
# what the file adds to it, a list in batch.ADDED order. Returns the keys it found, as one list (one
# record costs the client less than thousands): the others are new edges.
# An edge written before requests and replies were counted has neither, and null plus a number keeps
# it so: an unknown, never a count of only the later files.
# One `SET f += {...}` rather than an item per property: ArcadeDB 26.10 saves the record once per SET
# item (Java Flight Recorder: MutableEdge.save under each SetClauseApplier.applyPropertySet), and on
# 20,000 existing edges, 250 keys a statement, a warm server ran the five sums and seen-times as one map
# at 30-39k rows/s against 11-16k as five items. Neo4j gives `+=` the same meaning: a null removes.
ADD_TO_FLOWS = """
MATCH ()-[f:FLOW]->() WHERE f.key IN $keys
WITH f, $rows[f.key] AS r
WITH f, r[0] AS more_count, r[1] AS more_packets, r[2] AS more_bytes, r[3] AS more_requests,
     r[4] AS more_replies, r[5] AS first, r[6] AS last, r[7] AS srcaddrs, r[8] AS dstaddrs, r[9] AS bs, r[10] AS bc,
     r[11] AS bp, r[12] AS bb, size(coalesce(f.buckets, [])) > 0 AND f.buckets[-1] = r[9][0] AS same
SET f += {count: f.count + more_count, packets: f.packets + more_packets, bytes: f.bytes + more_bytes,
          requests: f.requests + more_requests, replies: f.replies + more_replies,
          first_seen: CASE WHEN f.first_seen IS NULL OR first < f.first_seen THEN first ELSE f.first_seen END,
          last_seen: CASE WHEN f.last_seen IS NULL OR last > f.last_seen THEN last ELSE f.last_seen END,
          pkt_srcaddrs: CASE WHEN srcaddrs IS NULL THEN f.pkt_srcaddrs
                             ELSE coalesce(f.pkt_srcaddrs, []) + [a IN srcaddrs WHERE NOT a IN coalesce(f.pkt_srcaddrs, [])] END,
          pkt_dstaddrs: CASE WHEN dstaddrs IS NULL THEN f.pkt_dstaddrs
                             ELSE coalesce(f.pkt_dstaddrs, []) + [a IN dstaddrs WHERE NOT a IN coalesce(f.pkt_dstaddrs, [])] END,
          buckets: CASE WHEN same THEN f.buckets + bs[1..] ELSE coalesce(f.buckets, []) + bs END,
          bucket_count: CASE WHEN same THEN f.bucket_count[..-1] + [f.bucket_count[-1] + bc[0]] + bc[1..]
                             ELSE coalesce(f.bucket_count, []) + bc END,
          bucket_packets: CASE WHEN same THEN f.bucket_packets[..-1] + [f.bucket_packets[-1] + bp[0]] + bp[1..]
                               ELSE coalesce(f.bucket_packets, []) + bp END,
          bucket_bytes: CASE WHEN same THEN f.bucket_bytes[..-1] + [f.bucket_bytes[-1] + bb[0]] + bb[1..]
                             ELSE coalesce(f.bucket_bytes, []) + bb END}
RETURN collect(f.key) AS found
"""

# Which of $keys are edges already, and nothing more: while a file's edges are mostly new, sending
# their sums along (ADD_TO_FLOWS) is paid for nothing.
FIND_FLOWS = "MATCH ()-[f:FLOW]->() WHERE f.key IN $keys RETURN collect(f.key) AS found"

# Endpoints by the element ids UPDATE_ADDRESSES and CREATE_ADDRESSES returned: a direct seek on both servers, where
# `{id: r.src}` costs an index lookup per endpoint (a fifth of a load's server time on ArcadeDB).
# A row is a list: source and destination element ids, the key, batch.ATTRIBUTES, batch.ADDED.
CREATE_FLOWS = """
UNWIND $rows AS r
MATCH (s:Address) WHERE elementId(s) = r[0]
MATCH (d:Address) WHERE elementId(d) = r[1]
CREATE (s)-[:FLOW {key: r[2], port: r[3], protocol: r[4], action: r[5], count: r[6], packets: r[7],
                   bytes: r[8], requests: r[9], replies: r[10], first_seen: r[11], last_seen: r[12],
                   pkt_srcaddrs: r[13], pkt_dstaddrs: r[14], buckets: r[15], bucket_count: r[16],
                   bucket_packets: r[17], bucket_bytes: r[18]}]->(d)
RETURN count(*) AS created
"""

# Taking a file's contribution back out (a reload, or a changed file): first/last seen cannot be
# un-widened, so they stay as they are. Its buckets go back as entries of the opposite sign, so every
# window's sum stays exact; a file loaded before buckets added nothing to them, and takes nothing back.
SUBTRACT_FLOWS = """
MATCH ()-[f:FLOW]->() WHERE f.key IN $keys
WITH f, $rows[f.key] AS r
WITH f, r, f.buckets IS NOT NULL AND r.buckets IS NOT NULL AS bucketed
SET f += {count: f.count - r.count, packets: f.packets - r.packets, bytes: f.bytes - r.bytes,
          requests: f.requests - r.requests, replies: f.replies - r.replies,
          buckets: CASE WHEN bucketed THEN f.buckets + r.buckets ELSE f.buckets END,
          bucket_count: CASE WHEN bucketed THEN f.bucket_count + [n IN r.bucket_count | -n] ELSE f.bucket_count END,
          bucket_packets: CASE WHEN bucketed THEN f.bucket_packets + [n IN r.bucket_packets | -n]
                               ELSE f.bucket_packets END,
          bucket_bytes: CASE WHEN bucketed THEN f.bucket_bytes + [n IN r.bucket_bytes | -n] ELSE f.bucket_bytes END}
WITH f WHERE f.count <= 0
DELETE f
"""

# An address left without edges goes, and so do its alerts' links to it (the alerts keep their subject).
DELETE_ORPHANS = """
UNWIND $keys AS key
MATCH (a:Address {key: key})
WHERE NOT EXISTS { MATCH (a)-[:FLOW]-() }
DETACH DELETE a
"""

DELETE_LEDGER_ENTRY = "MATCH (l:LogFile {id: $id}) DELETE l"

CREATE_LEDGER_ENTRY = """
CREATE (l:LogFile {id: $id, digest: $digest, records: $records, nodata: $nodata, skipdata: $skipdata,
                   rejected_lines: $rejected_lines, edges: $edges, loaded_at: $loaded_at,
                   contribution: $contribution})
"""

COUNTS = """
CALL { MATCH (a:Address) RETURN count(a) AS addresses }
CALL { MATCH ()-[f:FLOW]->() RETURN count(f) AS flows }
CALL { MATCH (l:LogFile) RETURN count(l) AS files }
RETURN addresses, flows, files
"""

DELETE_SOME = "MATCH (n) WITH n LIMIT $limit DETACH DELETE n RETURN count(*) AS deleted"

# `vpcflow reveal`: how the graph holds each address it is asked about, if at all.
ADDRESS_KINDS = """
UNWIND $ids AS id
OPTIONAL MATCH (a:Address) WHERE a.id = id OR a.key = id
RETURN id, a IS NOT NULL AS held, a.pseudonymized AS pseudonymized, a.name AS name
"""
