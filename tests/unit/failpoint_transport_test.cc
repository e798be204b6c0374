// FailpointTransport (test-only failure injection): counts only inserts ClickHouse answered with 200, ends the
// process right after the k-th, and reads k from the environment strictly.
#include "clickhouse/FailpointTransport.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace streamshop::clickhouse {
namespace {

// Answers every request with the given status.
class FixedTransport final : public HttpTransport {
 public:
  explicit FixedTransport(long status) : status_(status) {}
  Result<HttpResponse> Post(const std::string&, std::string_view, size_t) override {
    return HttpResponse{status_, "ok", {}, false};
  }

 private:
  long status_;
};

constexpr const char* kInsertUrl =
    "http://ch/?send_progress_in_http_headers=0&query=INSERT%20INTO%20analytics.raw_t%20FORMAT%20RowBinary";
constexpr const char* kSelectUrl = "http://ch/?query=SELECT%201";

TEST(FailpointTransport, ExitsRightAfterTheKthStoredInsertOnly) {
  EXPECT_EXIT(
      {
        FailpointTransport failing(std::make_unique<FixedTransport>(500), 1);
        for (int i = 0; i < 3; ++i) (void)failing.Post(kInsertUrl, "row", 100);  // not stored: not counted
        FailpointTransport t(std::make_unique<FixedTransport>(200), 2);
        (void)t.Post(kSelectUrl, "", 100);    // not an insert
        (void)t.Post("http://ch/", "", 100);  // a query in the body: not an insert
        (void)t.Post(kInsertUrl, "row", 100);
        fprintf(stderr, "after insert 1\n");
        (void)t.Post(kInsertUrl, "row", 100);
        fprintf(stderr, "after insert 2\n");
        std::exit(0);
      },
      testing::ExitedWithCode(FailpointTransport::kExitCode), "after insert 1\nfailpoint");
}

TEST(FailpointTransport, ReadsAPositiveIntegerFromTheEnvironment) {
  unsetenv(FailpointTransport::kVariable);
  EXPECT_FALSE(FailpointTransport::FromEnvironment().has_value());
  setenv(FailpointTransport::kVariable, "", 1);
  EXPECT_FALSE(FailpointTransport::FromEnvironment().has_value());
  setenv(FailpointTransport::kVariable, "17", 1);
  EXPECT_EQ(FailpointTransport::FromEnvironment(), 17u);
  for (const char* bad : {"0", "-1", "x", "3x", " 3"}) {
    setenv(FailpointTransport::kVariable, bad, 1);
    EXPECT_THROW(FailpointTransport::FromEnvironment(), std::invalid_argument) << bad;
  }
  unsetenv(FailpointTransport::kVariable);
}

}  // namespace
}  // namespace streamshop::clickhouse
