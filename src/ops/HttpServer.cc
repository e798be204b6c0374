#include "ops/HttpServer.h"

#include <fmt/format.h>
#include <httplib.h>

#include <sys/socket.h>

#include <charconv>
#include <chrono>
#include <cstring>

#include "common/Log.h"
#include "ops/PrometheusText.h"
#include "ops/StatusPage.h"

namespace streamshop::ops {

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Status::Fatal(fmt::format("--http-listen '{}': {}; expected HOST:PORT, e.g. 127.0.0.1:9187", text, why));
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  ListenAddress a;
  std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  a.host = host.empty() ? "127.0.0.1" : std::string(host);
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (ec != std::errc() || end != port.data() + port.size() || a.port < 1 || a.port > 65535) {
    return bad("the port must be a number from 1 to 65535");
  }
  return a;
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(std::string_view listen, const pipeline::Metrics& metrics,
                                                      std::string command) {
  SS_ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(listen));
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->server_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *s->server_;
  // Scrapes and probes are few: two threads serve them, and a slow client cannot hold one for long.
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  http.set_read_timeout(std::chrono::seconds(5));
  http.set_write_timeout(std::chrono::seconds(5));
  http.set_keep_alive_timeout(5);
  http.set_payload_max_length(4096);
  // SO_REUSEADDR only: the library's default SO_REUSEPORT would let a second process share the port silently, and
  // scrapes would alternate between them.
  http.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  http.Get("/metrics", [&metrics, command](const httplib::Request&, httplib::Response& res) {
    res.set_content(RenderMetrics(metrics, command), std::string(PrometheusText::kContentType).c_str());
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Security-Policy", std::string(StatusPage::kContentSecurityPolicy));
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "no-cache");
    const std::string_view html = StatusPage::Html();
    res.set_content(html.data(), html.size(), std::string(StatusPage::kHtmlContentType).c_str());
  });
  http.Get(
      R"(/status\.json)", [&metrics, command, history = &s->history_](const httplib::Request&, httplib::Response& res) {
        const int64_t now =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        res.set_header("Cache-Control", "no-store");
        res.set_header("X-Content-Type-Options", "nosniff");
        res.set_content(StatusPage::Json(metrics, command, now, history->Samples()),
                        std::string(StatusPage::kJsonContentType).c_str());
      });
  http.Get("/healthz", [&metrics](const httplib::Request&, httplib::Response& res) {
    const bool ok = metrics.Healthy();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ok\n" : fmt::format("stuck: the loop has not ticked for {} ms\n", metrics.SilenceMillis()),
                    "text/plain; charset=utf-8");
  });
  http.Get("/readyz", [&metrics](const httplib::Request&, httplib::Response& res) {
    const bool ok = metrics.Ready();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ready\n" : "not ready: not connected and streaming\n", "text/plain; charset=utf-8");
  });

  if (!http.bind_to_port(address.host, address.port)) {
    return Status::Fatal(fmt::format(
        "--http-listen {}:{}: cannot listen there ({}); is the port taken or the address not this machine's? "
        "Choose another HOST:PORT",
        address.host, address.port, strerror(errno)));
  }
  s->port_ = address.port;
  s->sampler_ = std::thread([server = s.get(), &metrics] {
    std::unique_lock lock(server->sampler_mutex_);
    while (!server->stopping_) {
      const int64_t now =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      server->history_.Add({now, metrics.events.load(), metrics.flushed_rows.load()});
      server->sampler_wake_.wait_for(lock, std::chrono::seconds(1), [server] { return server->stopping_; });
    }
  });
  s->thread_ = std::thread([&http] { http.listen_after_bind(); });
  // stop() only reaches a server that runs: wait for it, so the destructor can always end it.
  for (int i = 0; i < 5000 && !http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  LogInfo("serving the status page (/), /status.json, /metrics, /healthz and /readyz on http://{}:{}{}",
          address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host, address.port,
          address.host == "127.0.0.1" || address.host == "::1" || address.host == "localhost"
              ? ""
              : " (not loopback: no authentication, keep it behind a proxy or a private network)");
  return s;
}

HttpServer::~HttpServer() {
  {
    std::lock_guard lock(sampler_mutex_);
    stopping_ = true;
  }
  sampler_wake_.notify_all();
  if (sampler_.joinable()) sampler_.join();
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace streamshop::ops
