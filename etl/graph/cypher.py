"""The loader's Cypher: portable openCypher only (runs on Neo4j 5 and ArcadeDB's Bolt), $params only."""

SCHEMA = (
    "CREATE CONSTRAINT address_id IF NOT EXISTS FOR (a:Address) REQUIRE a.id IS UNIQUE",
    "CREATE CONSTRAINT logfile_id IF NOT EXISTS FOR (l:LogFile) REQUIRE l.id IS UNIQUE",
    "CREATE INDEX logfile_digest IF NOT EXISTS FOR (l:LogFile) ON (l.digest)",
)

LEDGER_ENTRIES = """
MATCH (l:LogFile) WHERE l.id = $id OR l.digest = $digest
RETURN l.id AS id, l.digest AS digest, l.contribution AS contribution
"""

# Addresses first, then edges between matched endpoints: a single MERGE of both endpoints and the
# relationship per row is three times slower on ArcadeDB (DESIGN.md, measured).
UPSERT_ADDRESSES = """
UNWIND $rows AS r
MERGE (a:Address {id: r.id})
ON CREATE SET a.scope = r.scope, a.pseudonymized = r.pseudonymized, a.name = r.name, a.group = r.group,
              a.role = r.role, a.first_seen = r.first_seen, a.last_seen = r.last_seen
ON MATCH SET a.name = r.name, a.group = r.group, a.role = r.role, a.scope = r.scope,
             a.first_seen = CASE WHEN a.first_seen IS NULL OR r.first_seen < a.first_seen
                                 THEN r.first_seen ELSE a.first_seen END,
             a.last_seen = CASE WHEN a.last_seen IS NULL OR r.last_seen > a.last_seen
                                THEN r.last_seen ELSE a.last_seen END
"""

UPSERT_FLOWS = """
UNWIND $rows AS r
MATCH (s:Address {id: r.src})
MATCH (d:Address {id: r.dst})
MERGE (s)-[f:FLOW {port: r.port, protocol: r.protocol, action: r.action}]->(d)
ON CREATE SET f.count = r.count, f.packets = r.packets, f.bytes = r.bytes,
              f.first_seen = r.first_seen, f.last_seen = r.last_seen
ON MATCH SET f.count = f.count + r.count, f.packets = f.packets + r.packets, f.bytes = f.bytes + r.bytes,
             f.first_seen = CASE WHEN f.first_seen IS NULL OR r.first_seen < f.first_seen
                                 THEN r.first_seen ELSE f.first_seen END,
             f.last_seen = CASE WHEN f.last_seen IS NULL OR r.last_seen > f.last_seen
                                THEN r.last_seen ELSE f.last_seen END
"""

# Taking a file's contribution back out (a reload, or a changed file): first/last seen cannot be
# un-widened, so they stay as they are.
SUBTRACT_FLOWS = """
UNWIND $rows AS r
MATCH (s:Address {id: r.src})-[f:FLOW {port: r.port, protocol: r.protocol, action: r.action}]->(d:Address {id: r.dst})
SET f.count = f.count - r.count, f.packets = f.packets - r.packets, f.bytes = f.bytes - r.bytes
WITH f WHERE f.count <= 0
DELETE f
"""

DELETE_ORPHANS = """
UNWIND $ids AS id
MATCH (a:Address {id: id})
WHERE NOT EXISTS { MATCH (a)-[:FLOW]-() }
DELETE a
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
