// The ClickHouse cluster's DDL (ClusterLayout): one server keeps exactly the statements it always had; a cluster
// creates Replicated engines ON CLUSTER with each dialect's arguments, a Distributed table over local tables with
// shards, ALTERs on both, TRUNCATE as a per-shard DROP PARTITION; a cluster the server does not know is refused with
// the fix; a client fails over to the next replica on a Retryable failure only; verify's servers (EachServer).
#include "clickhouse/ClusterLayout.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "clickhouse/ClickHouseClient.h"
#include "clickhouse/MessageWriter.h"
#include "clickhouse/SnapshotState.h"
#include "clickhouse/TableWriter.h"
#include "clickhouse/TargetSchema.h"
#include "pg/Catalog.h"

namespace streamshop::clickhouse {
namespace {

constexpr uint32_t kInt4 = 23, kText = 25;

// orders (id int key, tenant text key, note text).
TableWriter Orders(Dialect dialect, std::string name = "orders") {
  pg::TableInfo t{1, "public", std::move(name), {}};
  t.columns.push_back({"id", kInt4, -1, 2, {}});
  t.columns.push_back({"tenant", kText, -1, 1, {}});
  t.columns.push_back({"note", kText, -1, 0, {}});
  return TableWriter(pg::SchemaOf(t), dialect, "analytics");
}

// A table without a key, identified by all its values (REPLICA IDENTITY FULL).
TableWriter Keyless() {
  pg::TableInfo t{2, "public", "events", {}};
  t.columns.push_back({"v", kText, -1, 0, {}});
  t.identity = model::RowIdentity::kFullRow;
  return TableWriter(pg::SchemaOf(t), Dialect::kLegacy, "analytics");
}

const ClusterLayout kOneServer;
const ClusterLayout kReplicas("c1", 1);
const ClusterLayout kShards("c2", 2);

constexpr std::string_view kOrdersColumns =
    "`id` Int32, `tenant` String, `note` Nullable(String), _version UInt64, _deleted UInt8, _unfit "
    "Nullable(String), _synced_at DateTime DEFAULT now()";

TEST(ClusterLayoutTest, OneServerKeepsItsStatements) {
  EXPECT_EQ(Orders(Dialect::kLegacy).CreateTableSql(),
            "CREATE TABLE IF NOT EXISTS `analytics`.`raw_orders` (" + std::string(kOrdersColumns) +
                ") ENGINE = ReplacingMergeTree(_version) ORDER BY (`tenant`, `id`)");
  EXPECT_EQ(Orders(Dialect::kLegacy).CreateTableStatements(kOneServer),
            std::vector<std::string>{Orders(Dialect::kLegacy).CreateTableSql()});
  EXPECT_NE(Orders(Dialect::kModern).CreateTableSql().find("ENGINE = ReplacingMergeTree(_version, _deleted) ORDER BY"),
            std::string::npos);
  EXPECT_EQ(TableWriter::CreateDeadLetterTableSql("analytics"),
            "CREATE TABLE IF NOT EXISTS `analytics`.`_streamshop_dead_letters` (table String, lsn UInt64, key String, "
            "reason String, row String, _synced_at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY (table, lsn)");
  EXPECT_EQ(kOneServer.CreateStateTable(Dialect::kLegacy, "analytics", "_streamshop_messages", "lsn UInt64",
                                        "ReplacingMergeTree", "lsn"),
            "CREATE TABLE IF NOT EXISTS `analytics`.`_streamshop_messages` (lsn UInt64) ENGINE = ReplacingMergeTree "
            "ORDER BY (lsn)");
  EXPECT_EQ(kOneServer.CreateDatabase("analytics"), "CREATE DATABASE IF NOT EXISTS `analytics`");
  EXPECT_EQ(kOneServer.AlterRawTable("analytics", "raw_orders", "ADD COLUMN `x` String"),
            std::vector<std::string>{"ALTER TABLE `analytics`.`raw_orders` ADD COLUMN `x` String"});
  EXPECT_EQ(kOneServer.TruncateRawTable(Dialect::kLegacy, "analytics", "raw_orders", false),
            "TRUNCATE TABLE `analytics`.`raw_orders`");
  EXPECT_EQ(kOneServer.TruncateRawTable(Dialect::kLegacy, "analytics", "raw_orders", true),
            "TRUNCATE TABLE IF EXISTS `analytics`.`raw_orders`");
}

TEST(ClusterLayoutTest, ReplicasOfOneShardOnLegacyServers) {
  // 18.16 has no default engine arguments: the path names the shard macro, the database and the table.
  EXPECT_EQ(Orders(Dialect::kLegacy).CreateTableStatements(kReplicas),
            std::vector<std::string>{
                "CREATE TABLE IF NOT EXISTS `analytics`.`raw_orders` ON CLUSTER `c1` (" + std::string(kOrdersColumns) +
                ") ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/raw_orders', "
                "'{replica}', _version) ORDER BY (`tenant`, `id`)"});
  EXPECT_EQ(kReplicas.CreateDatabase("analytics"), "CREATE DATABASE IF NOT EXISTS `analytics` ON CLUSTER `c1`");
  EXPECT_EQ(kReplicas.AlterRawTable("analytics", "raw_orders", "ADD COLUMN `x` String"),
            std::vector<std::string>{"ALTER TABLE `analytics`.`raw_orders` ON CLUSTER `c1` ADD COLUMN `x` String"});
  // 18.16 forwards TRUNCATE and DROP PARTITION to the leader replica without credentials: a mutation instead.
  EXPECT_EQ(kReplicas.TruncateRawTable(Dialect::kLegacy, "analytics", "raw_orders", true),
            "ALTER TABLE `analytics`.`raw_orders` ON CLUSTER `c1` DELETE WHERE 1");
  EXPECT_EQ(kReplicas.TruncateRawTable(Dialect::kModern, "analytics", "raw_orders", true),
            "ALTER TABLE `analytics`.`raw_orders` ON CLUSTER `c1` DROP PARTITION tuple()");
}

TEST(ClusterLayoutTest, ModernServersTakeTheDefaultPath) {
  const auto sql = Orders(Dialect::kModern).CreateTableStatements(kReplicas);
  ASSERT_EQ(sql.size(), 1u);
  EXPECT_NE(sql[0].find(" ON CLUSTER `c1` ("), std::string::npos) << sql[0];
  EXPECT_NE(sql[0].find("ENGINE = ReplicatedReplacingMergeTree(_version, _deleted) ORDER BY (`tenant`, `id`)"),
            std::string::npos)
      << sql[0];
}

TEST(ClusterLayoutTest, BookkeepingIsReplicatedToEveryNode) {
  // Whichever node a pipeline fails over to, its state is there: no {shard} in the path, unique replica names.
  for (Dialect d : {Dialect::kLegacy, Dialect::kModern}) {
    EXPECT_EQ(
        kShards.CreateStateTable(d, "analytics", "_streamshop_snapshots", "slot_key String", "MergeTree", "slot_key"),
        "CREATE TABLE IF NOT EXISTS `analytics`.`_streamshop_snapshots` ON CLUSTER `c2` (slot_key String) "
        "ENGINE = ReplicatedMergeTree('/clickhouse/streamshop/analytics/_streamshop_snapshots', "
        "'{shard}-{replica}') ORDER BY (slot_key)");
  }
  EXPECT_NE(TableWriter::CreateDeadLetterTableSql("analytics", kReplicas)
                .find("ON CLUSTER `c1` (table String, lsn UInt64, key String, reason String, row String, _synced_at "
                      "DateTime DEFAULT now()) ENGINE = "
                      "ReplicatedMergeTree('/clickhouse/streamshop/analytics/_streamshop_dead_letters', "
                      "'{shard}-{replica}') ORDER BY (table, lsn)"),
            std::string::npos);
}

TEST(ClusterLayoutTest, ShardsGetLocalTablesBehindADistributedTable) {
  const auto sql = Orders(Dialect::kLegacy).CreateTableStatements(kShards);
  ASSERT_EQ(sql.size(), 2u);
  EXPECT_EQ(sql[0],
            "CREATE TABLE IF NOT EXISTS `analytics`.`raw_orders%local` ON CLUSTER `c2` (" +
                std::string(kOrdersColumns) +
                ") ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/raw_orders%25local', "
                "'{replica}', _version) ORDER BY (`tenant`, `id`)");
  // Every version of a key (both sides of a key change too) goes to the shard of its key's hash.
  EXPECT_EQ(sql[1],
            "CREATE TABLE IF NOT EXISTS `analytics`.`raw_orders` ON CLUSTER `c2` AS `analytics`.`raw_orders%local` "
            "ENGINE = Distributed('c2', 'analytics', 'raw_orders%local', cityHash64(toString(`tenant`), "
            "toString(`id`)))");
  const auto keyless = Keyless().CreateTableStatements(kShards);
  ASSERT_EQ(keyless.size(), 2u);
  EXPECT_TRUE(keyless[1].ends_with("'raw_events%local', _row_hash)")) << keyless[1];

  // 18.16 refuses ALTER … ON CLUSTER of the Distributed table (not replicated): it is made again instead.
  EXPECT_EQ(
      kShards.AlterRawTable("analytics", "raw_orders", "ADD COLUMN `x` String"),
      std::vector<std::string>{"ALTER TABLE `analytics`.`raw_orders%local` ON CLUSTER `c2` ADD COLUMN `x` String"});
  EXPECT_EQ(kShards.RecreateDistributed("analytics", "raw_orders", Orders(Dialect::kLegacy).ShardingKey()),
            (std::vector<std::string>{"DROP TABLE IF EXISTS `analytics`.`raw_orders` ON CLUSTER `c2`", sql[1]}));
  EXPECT_EQ(kShards.MutateRawTable("analytics", "raw_orders", "UPDATE a = 1 WHERE 1"),
            "ALTER TABLE `analytics`.`raw_orders%local` ON CLUSTER `c2` UPDATE a = 1 WHERE 1");
  EXPECT_EQ(kShards.TruncateRawTable(Dialect::kLegacy, "analytics", "raw_orders", false),
            "ALTER TABLE `analytics`.`raw_orders%local` ON CLUSTER `c2` DELETE WHERE 1");
}

TEST(ClusterLayoutTest, NamesCannotInjectIntoThePath) {
  EXPECT_EQ(ClusterLayout::PathPart("a/{replica}.b"), "a%2F%7Breplica%7D%2Eb");
  EXPECT_EQ(ClusterLayout::PathPart("raw_x"), "raw_x");
  const auto sql = Orders(Dialect::kLegacy, "x/{shard}").CreateTableStatements(kReplicas);
  EXPECT_NE(sql[0].find("'/clickhouse/tables/{shard}/analytics/raw_x%2F%7Bshard%7D'"), std::string::npos) << sql[0];
}

// A transport whose answers are scripted per URL prefix; records every URL.
class ScriptedTransport final : public HttpTransport {
 public:
  ScriptedTransport(std::vector<std::string>* urls, std::vector<std::string>* bodies,
                    std::deque<Result<HttpResponse>>* answers)
      : urls_(urls), bodies_(bodies), answers_(answers) {}
  Result<HttpResponse> Post(const std::string& url, std::string_view body, size_t) override {
    urls_->push_back(url);
    bodies_->emplace_back(body);
    if (answers_->empty()) return HttpResponse{200, "", {}, false};
    auto r = std::move(answers_->front());
    answers_->pop_front();
    return r;
  }

 private:
  std::vector<std::string>* urls_;
  std::vector<std::string>* bodies_;
  std::deque<Result<HttpResponse>>* answers_;
};

struct ClientFixture {
  std::vector<std::string> urls, bodies;  // the statements of Query() are the bodies
  std::deque<Result<HttpResponse>> answers;
  std::unique_ptr<ClickHouseClient> client;
  explicit ClientFixture(std::string cluster = "", std::vector<std::string> replicas = {}) {
    client = std::make_unique<ClickHouseClient>("http://ch1:8123",
                                                std::make_unique<ScriptedTransport>(&urls, &bodies, &answers));
    client->set_replicas(std::move(replicas));
    client->set_cluster(std::move(cluster));
  }
  void Answer(std::string body, long status = 200) {
    answers.push_back(HttpResponse{status, std::move(body), {}, false});
  }
};

TEST(ClusterLayoutTest, AnUnknownClusterIsRefusedWithTheFix) {
  ClientFixture f("nope");
  f.Answer("0\n");                                               // uniqExact(shard_num)
  f.Answer(std::string("\x02") + "c1" + "\x0a" + "test_shard");  // DISTINCT cluster, RowBinary
  auto layout = LayoutOf(*f.client);
  ASSERT_FALSE(layout.ok());
  EXPECT_FALSE(layout.status().retryable());
  const std::string& m = layout.status().message();
  EXPECT_NE(m.find("--clickhouse-cluster nope"), std::string::npos) << m;
  EXPECT_NE(m.find("lists: c1, test_shard"), std::string::npos) << m;
  EXPECT_NE(m.find("STREAMSHOP_CLICKHOUSE_CLUSTER"), std::string::npos) << m;
  EXPECT_NE(m.find("<remote_servers>"), std::string::npos) << m;
}

TEST(ClusterLayoutTest, ShardsAreCountedOnceAndClusterRequestsKeepEveryVersion) {
  ClientFixture f("c2");
  f.Answer("2\n");
  auto layout = LayoutOf(*f.client);
  ASSERT_TRUE(layout.ok()) << layout.status().message();
  EXPECT_TRUE(layout->sharded());
  ASSERT_TRUE(LayoutOf(*f.client).ok());
  EXPECT_EQ(f.urls.size(), 1u);  // kept in the client
  EXPECT_NE(f.urls[0].find("&insert_deduplicate=0"), std::string::npos) << f.urls[0];

  ClientFixture one;
  ASSERT_TRUE(LayoutOf(*one.client).ok());
  EXPECT_TRUE(one.urls.empty());  // one server: no query at all
  ASSERT_TRUE(one.client->Query("SELECT 1").ok());
  EXPECT_EQ(one.urls[0].find("insert_deduplicate"), std::string::npos);
}

TEST(ClusterLayoutTest, EnsureTargetTableCreatesEveryPieceOnTheCluster) {
  ClientFixture f("c2");
  f.Answer("2\n");  // shards
  TableWriter w = Orders(Dialect::kLegacy);
  // Later answers are empty: system.columns lists no column, so every column is added (on both tables).
  ASSERT_TRUE(EnsureTargetTable(*f.client, w).ok());
  const auto create = w.CreateTableStatements(kShards);
  ASSERT_GE(f.bodies.size(), 10u);
  // Each CREATE … ON CLUSTER only when the node lacks the table (ON CLUSTER waits for every node, even a down one).
  EXPECT_TRUE(
      f.bodies[1].starts_with("SELECT count() FROM system.tables WHERE database = 'analytics' AND name = "
                              "'raw_orders%local'"))
      << f.bodies[1];
  EXPECT_EQ(f.bodies[2], create[0]);
  EXPECT_EQ(f.bodies[4], create[1]);
  EXPECT_EQ(f.bodies[6], TableWriter::CreateDeadLetterTableSql("analytics", kShards));
  EXPECT_TRUE(f.bodies[7].starts_with("SELECT name, type FROM system.columns")) << f.bodies[7];
  EXPECT_NE(f.bodies[7].find("table = 'raw_orders%local'"), std::string::npos) << f.bodies[7];
  EXPECT_EQ(f.bodies[8], "ALTER TABLE `analytics`.`raw_orders%local` ON CLUSTER `c2` ADD COLUMN `id` Int32");
  EXPECT_EQ(f.bodies[9], "ALTER TABLE `analytics`.`raw_orders%local` ON CLUSTER `c2` ADD COLUMN `tenant` String");
}

TEST(ClusterLayoutTest, AnExistingTableIsNotCreatedAgainOnTheCluster) {
  ClientFixture f("c1");
  f.Answer("1\n");  // shards
  f.Answer("1\n");  // the snapshot state table exists
  ASSERT_TRUE(EnsureSnapshotStateTable(*f.client, {"analytics", "1/db/slot"}).ok());
  ASSERT_EQ(f.bodies.size(), 2u);
}

TEST(ClusterLayoutTest, StateTablesFollowTheClientsCluster) {
  ClientFixture f("c1");
  f.Answer("1\n");
  ASSERT_TRUE(EnsureSnapshotStateTable(*f.client, {"analytics", "1/db/slot"}).ok());
  MessageWriter messages("analytics");
  ASSERT_TRUE(messages.EnsureTable(*f.client).ok());
  ASSERT_EQ(f.bodies.size(), 5u);
  EXPECT_NE(f.bodies[2].find("`_streamshop_snapshots` ON CLUSTER `c1` (slot_key String, table String, chunk Int64, "
                             "chunk_pages Int64, rows UInt64, updated_us UInt64) ENGINE = ReplicatedMergeTree("),
            std::string::npos)
      << f.bodies[2];
  EXPECT_NE(f.bodies[4].find("`_streamshop_messages` ON CLUSTER `c1` (lsn UInt64, transactional UInt8, prefix String, "
                             "content String, _synced_at DateTime DEFAULT now()) ENGINE = "
                             "ReplicatedReplacingMergeTree('/clickhouse/streamshop/analytics/_streamshop_messages', "
                             "'{shard}-{replica}') ORDER BY (lsn, prefix)"),
            std::string::npos)
      << f.bodies[4];

  ClientFixture one;
  ASSERT_TRUE(EnsureSnapshotStateTable(*one.client, {"analytics", "1/db/slot"}).ok());
  MessageWriter m2("analytics");
  ASSERT_TRUE(m2.EnsureTable(*one.client).ok());
  EXPECT_EQ(one.bodies[0],
            "CREATE TABLE IF NOT EXISTS `analytics`.`_streamshop_snapshots` (slot_key String, table String, chunk "
            "Int64, chunk_pages Int64, rows UInt64, updated_us UInt64) ENGINE = MergeTree ORDER BY (slot_key, table, "
            "chunk)");
  EXPECT_EQ(one.bodies[1],
            "CREATE TABLE IF NOT EXISTS `analytics`.`_streamshop_messages` (lsn UInt64, transactional UInt8, prefix "
            "String, content String, _synced_at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree ORDER BY (lsn, "
            "prefix)");
}

TEST(ClusterLayoutTest, TruncateOfAMissingTableOnAClusterIsANoOp) {
  ClientFixture f("c1");
  f.Answer("1\n");  // shards
  f.Answer("");     // system.tables: none
  ASSERT_TRUE(TruncateRawTable(*f.client, Dialect::kLegacy, "analytics", "raw_orders", /*if_exists=*/true).ok());
  EXPECT_EQ(f.urls.size(), 2u);
}

TEST(ClusterLayoutTest, ARetryableFailureGoesToTheNextReplicaAndStaysThere) {
  ClientFixture f("c1", {"http://ch2:8123/"});
  f.answers.push_back(Status::Retryable("connection refused"));
  f.Answer("ok");
  f.Answer("again");
  auto r = f.client->Query("SELECT 1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "ok");
  ASSERT_EQ(f.urls.size(), 2u);
  EXPECT_TRUE(f.urls[0].starts_with("http://ch1:8123/?"));
  EXPECT_TRUE(f.urls[1].starts_with("http://ch2:8123/?"));
  ASSERT_TRUE(f.client->Query("SELECT 2").ok());
  EXPECT_TRUE(f.urls[2].starts_with("http://ch2:8123/?"));  // stays with the replica that answered
  EXPECT_EQ(f.client->current_url(), "http://ch2:8123");
}

TEST(ClusterLayoutTest, EachReplicaIsTriedOncePerRequestAndFatalErrorsAreNotRetried) {
  ClientFixture f("c1", {"http://ch2:8123", "http://ch3:8123"});
  for (int i = 0; i < 3; ++i) f.answers.push_back(Status::Retryable("refused"));
  auto r = f.client->Insert("INSERT INTO t (a) FORMAT RowBinary", "x");
  EXPECT_TRUE(r.retryable());
  EXPECT_EQ(f.urls.size(), 3u);

  ClientFixture g("c1", {"http://ch2:8123"});
  g.Answer("Code: 62, e.displayText() = DB::Exception: Syntax error, e.what() = DB::Exception\n", 400);
  auto fatal = g.client->Query("SELEC 1");
  EXPECT_FALSE(fatal.ok());
  EXPECT_FALSE(fatal.status().retryable());
  EXPECT_EQ(g.urls.size(), 1u);
}

TEST(ClusterLayoutTest, VerifyComparesEachServerWithTheSameCredentials) {
  Endpoint e;
  e.url = "http://u:p%40ss@ch1:8123";
  e.replica_urls = {"http://ch2:8123"};
  e.cluster = "c1";
  const auto servers = e.EachServer();
  ASSERT_EQ(servers.size(), 2u);
  EXPECT_EQ(servers[0].url, e.url);
  EXPECT_TRUE(servers[0].replica_urls.empty());
  EXPECT_EQ(servers[1].url, "http://ch2:8123");
  EXPECT_EQ(servers[1].user, "u");
  EXPECT_EQ(servers[1].password, "p@ss");
  EXPECT_EQ(servers[1].cluster, "c1");
}

}  // namespace
}  // namespace streamshop::clickhouse
