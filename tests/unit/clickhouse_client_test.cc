// ClickHouseClient's reading of ClickHouse's answers, through a fake HttpTransport: errors after a 200 header
// (exception header, exception text at the end of a streamed body as 18.16 and newer servers write it, the
// 25.11+ tagged block), retryable statuses and codes, the response size cap, the pinned settings, and SQL
// quoting of every byte.
#include "clickhouse/ClickHouseClient.h"

#include <gtest/gtest.h>

#include "clickhouse/TableWriter.h"
#include "clickhouse/TargetSchema.h"
#include "pg/Catalog.h"

#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace streamshop::clickhouse {
namespace {

struct Request {
  std::string url;
  std::string body;
  size_t max_response_bytes = 0;
};

class FakeTransport final : public HttpTransport {
 public:
  FakeTransport(std::deque<Result<HttpResponse>>* responses, std::vector<Request>* requests)
      : responses_(responses), requests_(requests) {}
  Result<HttpResponse> Post(const std::string& url, std::string_view body, size_t max_response_bytes) override {
    requests_->push_back({url, std::string(body), max_response_bytes});
    if (responses_->empty()) return Status::Fatal("fake transport: no response queued");
    Result<HttpResponse> r = std::move(responses_->front());
    responses_->pop_front();
    return r;
  }

 private:
  std::deque<Result<HttpResponse>>* responses_;
  std::vector<Request>* requests_;
};

class ClickHouseClientTest : public ::testing::Test {
 protected:
  ClickHouseClient& Client() {
    if (!client_) {
      client_ = std::make_unique<ClickHouseClient>("http://u:secret@ch:8123/",
                                                   std::make_unique<FakeTransport>(&responses_, &requests_));
    }
    return *client_;
  }
  void Answer(long status, std::string body, std::map<std::string, std::string> headers = {}) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    responses_.push_back(std::move(r));
  }
  Result<std::string> Query() { return Client().Query("SELECT x FROM t FORMAT RowBinary"); }

  std::deque<Result<HttpResponse>> responses_;
  std::vector<Request> requests_;
  std::unique_ptr<ClickHouseClient> client_;
};

// What 18.16 wrote after 200 OK for SELECT number, throwIf(number = 500000) … FORMAT RowBinary (measured):
// the last RowBinary bytes, then the exception text with no separator.
const std::string kRowBinaryData("\x1f\xa1\x07\0\0\0\0\0\0", 9);
const std::string k1816Exception =
    "Code: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero, e.what() = "
    "DB::Exception\n";

TEST_F(ClickHouseClientTest, OkAnswerAndPinnedSettings) {
  Answer(200, "1\n");
  auto r = Query();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "1\n");
  ASSERT_EQ(requests_.size(), 1u);
  EXPECT_EQ(requests_[0].url, "http://u:secret@ch:8123/?" + std::string(kPinnedSettings));
  EXPECT_EQ(requests_[0].body, "SELECT x FROM t FORMAT RowBinary");
  EXPECT_EQ(requests_[0].max_response_bytes, ClickHouseClient::kDefaultMaxResponseBytes);

  Answer(200, "");
  ASSERT_TRUE(Client().Insert("INSERT INTO `db`.`t` (a) FORMAT RowBinary", "data").ok());
  EXPECT_EQ(requests_[1].url, "http://u:secret@ch:8123/?" + std::string(kPinnedSettings) +
                                  "&query=INSERT%20INTO%20%60db%60.%60t%60%20%28a%29%20FORMAT%20RowBinary");
  EXPECT_EQ(requests_[1].body, "data");
  for (const char* s : {"input_format_allow_errors_num=0", "input_format_allow_errors_ratio=0",
                        "insert_distributed_sync=1", "send_progress_in_http_headers=0"}) {
    EXPECT_NE(requests_[1].url.find(s), std::string::npos) << s;
  }
}

TEST_F(ClickHouseClientTest, ExceptionHeaderAfter200IsAFailure) {
  Answer(200, kRowBinaryData + k1816Exception, {{"x-clickhouse-exception-code", "395"}});
  auto r = Query();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().fatal());
  EXPECT_NE(r.status().message().find("Code: 395"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("after the response had started"), std::string::npos);

  Answer(200, "partial", {{"x-clickhouse-exception-code", "241"}});  // MEMORY_LIMIT_EXCEEDED
  r = Query();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().retryable()) << r.status().message();

  Answer(200, "1\n", {{"x-clickhouse-exception-code", "0"}});
  EXPECT_TRUE(Query().ok());
}

TEST_F(ClickHouseClientTest, ExceptionTextAtTheEndOfAStreamedBodyIsAFailure) {
  Answer(200, kRowBinaryData + k1816Exception);  // 18.16 sends no exception header
  auto r = Query();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().fatal());
  EXPECT_NE(r.status().message().find("HTTP 200"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find('\x1f'), std::string::npos) << "message starts at the exception";

  // A transient code in the same position is retryable (e.g. the server hit its memory limit mid-stream).
  Answer(200,
         "499998\t0\n499999\t0\nCode: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded, "
         "e.what() = DB::Exception\n");
  r = Query();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().retryable());

  // Servers 19–21 and 22+.
  Answer(200, kRowBinaryData +
                  "Code: 60, e.displayText() = DB::Exception: Table default.x doesn't exist (version "
                  "21.3.1.1)\n");
  EXPECT_TRUE(Query().status().fatal());
  Answer(200, kRowBinaryData +
                  "Code: 159. DB::Exception: Timeout exceeded: elapsed 5.0 seconds, maximum: 5. "
                  "(TIMEOUT_EXCEEDED) (version 24.3.1.1 (official build))\n");
  EXPECT_TRUE(Query().status().retryable());

  // The same on an INSERT, whose successful answer has no body.
  Answer(200, "Code: 252, e.displayText() = DB::Exception: Too many parts (300), e.what() = DB::Exception\n");
  Status st = Client().Insert("INSERT INTO t (a) FORMAT RowBinary", "x");
  EXPECT_TRUE(st.retryable()) << st.message();
}

TEST_F(ClickHouseClientTest, DataThatMerelyMentionsCodeIsNotAnError) {
  for (std::string body :
       {std::string("Code: 5\n"), std::string("Code: 12, fine)\n"), std::string("Code: 5, e.g. this (x)\n"),
        std::string("x Code: 7. DB::Exception: y"),  // no final newline: not an ending
        std::string("Code: 7, e.displayText() = z\nmore data)\n") + "tail"}) {
    Answer(200, body);
    auto r = Query();
    ASSERT_TRUE(r.ok()) << body << ": " << r.status().message();
    EXPECT_EQ(*r, body);
  }
}

TEST_F(ClickHouseClientTest, TaggedExceptionBlock) {
  const std::string tag = "q7Xk2PzR9aLm4VtB";
  Answer(200,
         kRowBinaryData + "__exception__\r\n" + tag +
             "\r\nCode: 395. DB::Exception: boom. "
             "(FUNCTION_THROW_IF_VALUE_IS_NON_ZERO)\r\n77 " +
             tag + "\r\n__exception__\r\n",
         {{"x-clickhouse-exception-tag", tag}});
  auto r = Query();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("Code: 395"), std::string::npos) << r.status().message();

  // The marker without this response's tag is data.
  Answer(200, "__exception__ in a value\n", {{"x-clickhouse-exception-tag", tag}});
  EXPECT_TRUE(Query().ok());
}

TEST_F(ClickHouseClientTest, StatusClassification) {
  struct Case {
    long status;
    std::string body;
    bool retryable;
  };
  const std::vector<Case> cases = {
      {429, "Too Many Requests", true},
      {503, "Service Unavailable", true},
      {502, "", true},
      {504, "", true},
      {408, "", true},
      {500, "Code: 60, e.displayText() = DB::Exception: Table analytics.x doesn't exist., e.what() = DB::Exception\n",
       false},
      {500, "Code: 62, e.displayText() = DB::Exception: Syntax error, e.what() = DB::Exception\n", false},
      {401, "Code: 516. DB::Exception: default: Authentication failed. (AUTHENTICATION_FAILED)\n", false},
      {500, "<html>proxy error</html>", false},
  };
  for (const auto& c : cases) {
    Answer(c.status, c.body);
    auto r = Query();
    ASSERT_FALSE(r.ok()) << c.status;
    EXPECT_EQ(r.status().retryable(), c.retryable) << c.status << " " << r.status().message();
  }
  // ClickHouse's transient error codes, whatever the status.
  for (int code : {95,  96,  159, 160, 164, 173, 202, 203, 209, 210, 225, 241, 242, 243,
                   252, 279, 285, 286, 289, 319, 369, 394, 425, 439, 473, 574, 745, 999}) {
    Answer(500, fmt::format("Code: {}, e.displayText() = DB::Exception: transient, e.what() = DB::Exception\n", code));
    auto r = Query();
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.status().retryable()) << code;
  }
  responses_.push_back(Status::Retryable("connection refused"));
  EXPECT_TRUE(Query().status().retryable());
}

TEST_F(ClickHouseClientTest, OversizedResponseIsRefused) {
  Client().set_max_response_bytes(100);
  Answer(200, std::string(101, 'x'));  // a transport that ignored the limit
  auto r = Query();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().fatal());
  EXPECT_NE(r.status().message().find("larger than the limit of 100 bytes"), std::string::npos) << r.status().message();
  EXPECT_EQ(requests_.back().max_response_bytes, 100u);

  HttpResponse cut;  // a transport that stopped reading at the limit
  cut.status = 200;
  cut.body = std::string(100, 'x');
  cut.body_truncated = true;
  responses_.push_back(cut);
  EXPECT_TRUE(Query().status().fatal());

  Answer(200, std::string(100, 'x'));
  EXPECT_TRUE(Query().ok());
}

TEST_F(ClickHouseClientTest, ReservedColumnNameIsRefusedByName) {
  for (const char* taken : {"_version", "_deleted", "_synced_at", "_part", "_part_index", "_partition_id",
                            "_sample_factor", "_row_exists", "_block_number", "_block_offset"}) {
    pg::TableInfo table{1, "public", "t", {{"id", 23, -1, 1}, {taken, 25, -1, 0}}};
    TableWriter writer(streamshop::pg::SchemaOf(table), Dialect::kLegacy, "analytics");
    Status st = EnsureTargetTable(Client(), writer);
    EXPECT_TRUE(st.fatal());
    EXPECT_NE(st.message().find(std::string("column ") + taken), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("RENAME COLUMN"), std::string::npos) << st.message();
  }
  EXPECT_TRUE(requests_.empty());
}

// ClickHouse's reading of a quoted literal (18.16 ParserStringLiteral / backquoted identifiers): the escapes
// that QuoteString and QuoteIdent may produce. Returns nullopt on anything else.
std::optional<std::string> Unquote(const std::string& quoted, char quote) {
  if (quoted.size() < 2 || quoted.front() != quote || quoted.back() != quote) return std::nullopt;
  const std::string in = quoted.substr(1, quoted.size() - 2);
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == quote) return std::nullopt;                                         // would end the literal
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;  // raw control byte
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == in.size()) return std::nullopt;  // the backslash would escape the closing quote
    const char e = in[i];
    if (e == 'n') {
      out += '\n';
    } else if (e == 't') {
      out += '\t';
    } else if (e == '0') {
      out += '\0';
    } else if (e == 'x' && i + 2 < in.size()) {
      out += static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (e == '\\' || e == '\'' || e == '`') {
      out += e;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

TEST(QuoteTest, EveryByteRoundTrips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  for (const std::string& s :
       {all, std::string("it's"), std::string("a`b\\c"), std::string(""), std::string("\xd1\x8f\xe2\x82\xac")}) {
    EXPECT_EQ(Unquote(ClickHouseClient::QuoteString(s), '\''), s);
    EXPECT_EQ(Unquote(ClickHouseClient::QuoteIdent(s), '`'), s);
  }
  EXPECT_EQ(ClickHouseClient::QuoteIdent("a`b\\c\td"), "`a\\`b\\\\c\\td`");
  EXPECT_EQ(ClickHouseClient::QuoteString("it's\n\x01"), "'it\\'s\\n\\x01'");
  EXPECT_EQ(ClickHouseClient::QuoteIdent("таблица"), "`таблица`");  // UTF-8 as it is
}

}  // namespace
}  // namespace streamshop::clickhouse
