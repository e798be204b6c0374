// What a least-privileged ClickHouse user (docs/SECURITY.md) needs of EnsureDatabase, through a fake transport
// that answers like a server with SQL access control: an existing database is used without CREATE DATABASE (which
// such a server refuses before looking at IF NOT EXISTS); a missing one the user may not create is an error
// naming the database and the administrator's statement.
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "clickhouse/ClickHouseClient.h"
#include "clickhouse/TargetSchema.h"

namespace streamshop::clickhouse {
namespace {

// Answers each POST from `answers` in order and records the SQL it got.
class ScriptedTransport final : public HttpTransport {
 public:
  ScriptedTransport(std::deque<HttpResponse>* answers, std::vector<std::string>* sql) : answers_(answers), sql_(sql) {}
  Result<HttpResponse> Post(const std::string&, std::string_view body, size_t) override {
    sql_->emplace_back(body);
    if (answers_->empty()) return Status::Fatal("scripted transport: no answer left");
    HttpResponse r = std::move(answers_->front());
    answers_->pop_front();
    return r;
  }

 private:
  std::deque<HttpResponse>* answers_;
  std::vector<std::string>* sql_;
};

HttpResponse Answer(long status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

const char* kAccessDenied =
    "Code: 497. DB::Exception: streamshop: Not enough privileges. To execute this query, it's necessary to have the "
    "grant CREATE DATABASE ON analytics.*. (ACCESS_DENIED)\n";

class EnsureDatabaseTest : public ::testing::Test {
 protected:
  Status Ensure() {
    ClickHouseClient ch("http://streamshop@ch:8123/", std::make_unique<ScriptedTransport>(&answers_, &sql_));
    return EnsureDatabase(ch, "analytics");
  }
  std::deque<HttpResponse> answers_;
  std::vector<std::string> sql_;
};

TEST_F(EnsureDatabaseTest, ExistingDatabaseNeedsNoCreateGrant) {
  answers_.push_back(Answer(200, "1\n"));
  answers_.push_back(Answer(500, kAccessDenied));  // what CREATE DATABASE would get
  Status st = Ensure();
  EXPECT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(sql_.size(), 1u);
  EXPECT_NE(sql_[0].find("system.databases"), std::string::npos) << sql_[0];
}

TEST_F(EnsureDatabaseTest, MissingDatabaseIsCreated) {
  answers_.push_back(Answer(200, "0\n"));
  answers_.push_back(Answer(200, ""));
  Status st = Ensure();
  EXPECT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(sql_.size(), 2u);
  EXPECT_EQ(sql_[1], "CREATE DATABASE IF NOT EXISTS `analytics`");
}

TEST_F(EnsureDatabaseTest, MissingDatabaseWithoutGrantNamesTheFix) {
  answers_.push_back(Answer(200, "0\n"));
  answers_.push_back(Answer(500, kAccessDenied));
  Status st = Ensure();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("database `analytics` does not exist"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("CREATE DATABASE `analytics`"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("ACCESS_DENIED"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace streamshop::clickhouse
