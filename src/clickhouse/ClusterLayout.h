// Where streamshop's tables live on the ClickHouse side, and the DDL that makes and changes them: the one place that
// decides between one server and a cluster (--clickhouse-cluster), and between the dialects' engine arguments.
// Pure; thread-safe.
//
// One server (no cluster): every statement is exactly what streamshop always ran (plain MergeTree engines).
// A cluster (docs/CLUSTER.md):
// - every CREATE DATABASE / CREATE TABLE / ALTER runs ON CLUSTER;
// - a raw_* table (Scope::kShard) is Replicated[Replacing]MergeTree, one copy per shard. Legacy servers (18.16)
//   need explicit arguments: '/clickhouse/tables/{shard}/<database>/<table>', '{replica}' (the server's <macros>);
//   modern servers take their default path ('/clickhouse/tables/{uuid}/{shard}', '{replica}');
// - with more than one shard a raw table's rows live in `<name>%local` on each node (LocalName: no raw_* name
//   contains "%l", so it never collides), and `<name>` itself is a Distributed table over them, sharded by a hash
//   of the primary key (ShardingKey), so every version of a key is stored on one shard and FINAL per shard is right;
// - streamshop's bookkeeping tables (Scope::kEveryNode: snapshot state, publication shapes, messages, dead letters)
//   are replicated to every node of the cluster ('/clickhouse/streamshop/<database>/<table>', '{shard}-{replica}'),
//   so a pipeline that fails over to any other node finds its state there;
// - a TRUNCATE of a raw table is an ALTER … ON CLUSTER, which ClickHouse runs once per shard (a TRUNCATE queued for
//   a replica that was down would run when it comes back, after newer rows arrived): DROP PARTITION tuple() on
//   modern servers; on 18.16 DELETE WHERE 1, a mutation that removes exactly the rows stored before it (18.16
//   forwards a TRUNCATE or DROP PARTITION on a replica that is not the leader to the leader without credentials,
//   which fails wherever the user has a password; measured). The mutation runs in the background: the caller waits
//   for it (TargetSchema.h: TruncateRawTable).
// Path parts (database, table) are escaped like ClickHouse's file names (bytes other than [A-Za-z0-9_] as %XX),
// so a name can never inject a macro or a path separator.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "clickhouse/TypeMapping.h"

namespace streamshop::clickhouse {

class ClusterLayout {
 public:
  enum class Scope {
    kShard,      // replicated rows (raw_* tables): one copy per shard
    kEveryNode,  // streamshop's bookkeeping: one copy on every node
  };

  ClusterLayout() = default;  // one server
  ClusterLayout(std::string cluster, int shards) : cluster_(std::move(cluster)), shards_(shards) {}

  const std::string& cluster() const { return cluster_; }
  int shards() const { return shards_; }
  bool clustered() const { return !cluster_.empty(); }
  bool sharded() const { return clustered() && shards_ > 1; }

  // " ON CLUSTER `name`", or "" on one server.
  std::string OnCluster() const;

  // The engine of a table: `kind` is "MergeTree" or "ReplacingMergeTree", `params` its parameters ("" for none).
  std::string Engine(Dialect dialect, Scope scope, std::string_view kind, std::string_view params,
                     const std::string& database, const std::string& table) const;

  // CREATE DATABASE IF NOT EXISTS.
  std::string CreateDatabase(const std::string& database) const;
  // "CREATE TABLE IF NOT EXISTS <db>.<table> (<columns>) ENGINE = <engine> ORDER BY (<order_by>)" for a bookkeeping
  // table (Scope::kEveryNode).
  std::string CreateStateTable(Dialect dialect, const std::string& database, const std::string& table,
                               std::string_view columns, std::string_view kind, std::string_view order_by) const;

  // The statements that create a raw table `table` with `columns` (its whole column list), in order: the table
  // itself, or with shards its local table and then the Distributed table over it, sharded by `sharding_key`.
  std::vector<std::string> CreateRawTable(Dialect dialect, const std::string& database, const std::string& table,
                                          std::string_view columns, std::string_view params, std::string_view order_by,
                                          std::string_view sharding_key) const;
  // ALTER TABLE … <action> of a raw table (ADD COLUMN, MODIFY COLUMN): with shards on the local table, after which
  // the Distributed table is made again (RecreateDistributed): 18.16 refuses an ALTER … ON CLUSTER of a table that
  // is not replicated on a cluster whose shards replicate internally (measured).
  std::vector<std::string> AlterRawTable(const std::string& database, const std::string& table,
                                         std::string_view action) const;
  // DROP and CREATE of a sharded raw table's Distributed table, taking the local table's columns.
  std::vector<std::string> RecreateDistributed(const std::string& database, const std::string& table,
                                               std::string_view sharding_key) const;
  // An ALTER that rewrites stored rows (UPDATE, DELETE): on the table that holds them.
  std::string MutateRawTable(const std::string& database, const std::string& table, std::string_view action) const;
  // Empties a raw table (one server: TRUNCATE TABLE [IF EXISTS]; see the header for a cluster).
  std::string TruncateRawTable(Dialect dialect, const std::string& database, const std::string& table,
                               bool if_exists) const;

  // The table holding a sharded raw table's rows on each node.
  static std::string LocalName(std::string_view table);
  // The name of the table that stores a raw table's rows: LocalName when sharded, else `table`.
  std::string StorageName(const std::string& table) const;
  // cityHash64 over the text of the key columns (stable when a column is widened); `_row_hash` for a table without
  // a key (model::RowIdentity::kFullRow: an UPDATE deletes the old row's hash and writes the new one).
  static std::string ShardingKey(const std::vector<std::string>& key_columns, bool full_row);
  // A database or table name as one part of a coordination path.
  static std::string PathPart(std::string_view name);

 private:
  std::string CreateDistributed(const std::string& database, const std::string& table,
                                std::string_view sharding_key) const;
  std::string cluster_;
  int shards_ = 1;
};

}  // namespace streamshop::clickhouse
