// ClickHouse over its HTTP interface. Not thread-safe (owns one transport).
//
// Every answer is classified here, once:
// - A request fails when the status is not 200, when the X-ClickHouse-Exception-Code header is set, or when
//   ClickHouse reported an exception after it had already sent a 200 header: a streamed body then ends with
//   the exception text ("Code: N, e.displayText() = …" on 18.16, "Code: N. DB::Exception: … (version …)" on
//   newer servers, or the "__exception__" block announced by X-ClickHouse-Exception-Tag on 25.11+).
// - Retryable: transport failures, HTTP 408/429/502/503/504, and ClickHouse's transient error codes
//   (overload, timeouts, network, memory, too many parts, replicas/keeper unavailable, …). Everything else
//   (syntax, unknown table, type errors, authentication) is Fatal.
// - A response body larger than max_response_bytes() is not read further; the request fails (Fatal).
// Every request pins the settings that an acknowledged insert depends on (kPinnedSettings; see
// docs/TYPE_MAPPING.md), so a user or profile default cannot weaken them.
//
// Replicas (the failover policy, here only): a client may know several base URLs, the servers of one ClickHouse
// cluster that hold the same tables (--clickhouse-replica-url). It sends each request to its current server; when
// that fails Retryable (refused, reset, timed out, a transient ClickHouse error), it sends the same request to the
// next server, each at most once per request, and stays with the first that answers. An insert repeated on another
// replica may be stored twice; the copies have the same _version, so FINAL (and merges) collapse them — the cluster
// disables block deduplication (insert_deduplicate=0, kClusterSettings) because a re-copy after a TRUNCATE may
// legitimately repeat a block, and the versions already collapse what deduplication would.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clickhouse/ClusterLayout.h"
#include "clickhouse/HttpTransport.h"
#include "common/Status.h"

namespace streamshop::clickhouse {

// URL parameters sent with every request; all are accepted by ClickHouse 18.16 and current servers.
inline constexpr std::string_view kPinnedSettings =
    "input_format_allow_errors_num=0&input_format_allow_errors_ratio=0&insert_distributed_sync=1&"
    "send_progress_in_http_headers=0";
// Added on a cluster (see above).
// distributed_ddl_task_timeout: an ON CLUSTER statement waits at most a minute for every node (then fails Retryable;
// a node that was down runs it when it is back).
inline constexpr std::string_view kClusterSettings = "insert_deduplicate=0&distributed_ddl_task_timeout=60";

class ClickHouseClient {
 public:
  static constexpr size_t kDefaultMaxResponseBytes = size_t{1} << 30;

  // `base_url` like https://host:8443 (credentials belong to the transport; a password in it is never logged).
  ClickHouseClient(std::string base_url, std::unique_ptr<HttpTransport> transport);

  // Runs a statement; returns the response body (e.g. RowBinary rows).
  Result<std::string> Query(std::string_view sql);
  // Runs `insert_sql` ("INSERT INTO t (…) FORMAT RowBinary") with `data` as the request body.
  Status Insert(std::string_view insert_sql, std::string_view data);

  // The servers after the first one (base URLs without credentials: the transport's apply to all).
  void set_replicas(std::vector<std::string> urls);
  // The base URL requests go to now (without credentials).
  const std::string& current_url() const { return urls_[current_]; }

  // The cluster named by --clickhouse-cluster ("" = one server) and, once read from the server, its layout
  // (TargetSchema.h: LayoutOf). Setting a cluster also adds kClusterSettings to every request.
  void set_cluster(std::string name) { cluster_ = std::move(name); }
  const std::string& cluster() const { return cluster_; }
  std::optional<ClusterLayout>& layout() { return layout_; }

  size_t max_response_bytes() const { return max_response_bytes_; }
  void set_max_response_bytes(size_t n) { max_response_bytes_ = n; }

  // ClickHouse SQL quoting, correct for every byte: identifiers in backticks, strings in single quotes, with
  // the quote and backslash escaped, control characters as \n, \t, \0, \xHH; other bytes (UTF-8) as they are.
  static std::string QuoteIdent(std::string_view ident);
  static std::string QuoteString(std::string_view s);

 private:
  Result<std::string> Post(std::string_view query_in_url, std::string_view body, std::string_view what);
  Result<std::string> PostTo(const std::string& base_url, std::string_view query_in_url, std::string_view body,
                             std::string_view what);
  std::vector<std::string> urls_;  // [0]: the primary
  size_t current_ = 0;
  std::string cluster_;
  std::optional<ClusterLayout> layout_;
  std::unique_ptr<HttpTransport> transport_;
  size_t max_response_bytes_ = kDefaultMaxResponseBytes;
};

// Where and how to reach ClickHouse. A user and password in the URL's userinfo (percent-encoded) are used unless
// `user`/`password` are set; the client takes them out of the URL, so no URL it logs holds them.
struct Endpoint {
  std::string url;  // http[s]://[user[:password]@]host[:port]
  std::string user, password;
  std::string ca_file, cert_file, key_file;  // PEM files for https (CA of the server; client certificate)
  std::string cluster;                       // --clickhouse-cluster ("" = one server)
  std::vector<std::string> replica_urls;     // the other servers of the cluster (same credentials and CA)

  // This endpoint for each server on its own (the primary, then each replica URL): what verify compares.
  std::vector<Endpoint> EachServer() const;
};

// Production client for `endpoint` using CurlTransport.
std::unique_ptr<ClickHouseClient> MakeClickHouseClient(const Endpoint& endpoint);

}  // namespace streamshop::clickhouse
