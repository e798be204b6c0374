// The operations endpoints of a long-running command (--http-listen HOST:PORT): the status page / and its
// /status.json (ops/StatusPage), /metrics (Prometheus text, ops/PrometheusText), /healthz (200 while the command's
// loop runs, else 503) and /readyz (200 while a session is connected and streaming, else 503), served by
// cpp-httplib on threads of its own that only read the command's pipeline::Metrics (and the log's last problem).
// No authentication and no TLS: keep it on loopback unless a proxy or a private network fronts it.
// Start binds before returning (a taken port is an error of the command); the destructor stops the server and
// joins its threads, so it must go before the Metrics it reads.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/Status.h"
#include "ops/StatusPage.h"
#include "pipeline/Progress.h"

namespace httplib {
class Server;
}

namespace streamshop::ops {

struct ListenAddress {
  std::string host;  // as given; empty (":PORT") means 127.0.0.1
  int port = 0;
};
// "HOST:PORT", "[IPv6]:PORT" or ":PORT" (loopback).
Result<ListenAddress> ParseListenAddress(std::string_view text);

class HttpServer {
 public:
  // Serves `metrics` of `command` ("replicate", "capture", "sink") on `listen` (ParseListenAddress).
  static Result<std::unique_ptr<HttpServer>> Start(std::string_view listen, const pipeline::Metrics& metrics,
                                                   std::string command);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }

 private:
  HttpServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  // The status page's throughput: sampled once a second by sampler_ until stopping_.
  ThroughputHistory history_;
  std::mutex sampler_mutex_;
  std::condition_variable sampler_wake_;
  bool stopping_ = false;  // guarded by sampler_mutex_
  std::thread sampler_;
};

}  // namespace streamshop::ops
