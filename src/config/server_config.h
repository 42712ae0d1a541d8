#pragma once
// The whole configuration file as plain data: the top level of what config/ builds from YAML.
// server/ turns it into an immutable runtime snapshot.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/log.h"
#include "net/address.h"
#include "proxy/route_config.h"
#include "tls/acme/acme_config.h"
#include "upstream/cluster_config.h"

namespace portico::config {

enum class AccessLogFormat { Combined, Json };

// auto: workers read and write sockets through io_uring batches when the kernel allows it
// (event/io_batch.h); off: one system call per socket operation.
enum class IoUringMode { Auto, Off };

struct AccessLogConfig {
  bool enabled = true;
  std::string path = "stdout";  // "stdout", "stderr" or a file path
  AccessLogFormat format = AccessLogFormat::Combined;
};

struct ErrorLogConfig {
  std::string path;  // empty = stderr
  log::Level level = log::Level::Info;
};

// `admin:`: the admin listener (admin/admin_server.h), served by the main thread. Off unless
// the section is present.
struct AdminConfig {
  std::string address_text = "127.0.0.1:9901";
  net::Address address;  // parsed address_text
  // A non-loopback address exposes the status endpoint to the network: only when asked.
  bool allow_remote = false;
};

struct ServerConfig {
  std::string source_path;
  uint32_t workers = 0;  // 0 = one per CPU ("auto")
  int64_t drain_timeout_ms = 30000;
  IoUringMode io_uring = IoUringMode::Auto;
  AccessLogConfig access_log;
  ErrorLogConfig error_log;
  std::vector<proxy::ListenerConfig> listeners;
  std::vector<upstream::ClusterConfig> clusters;
  std::optional<tls::acme::AcmeConfig> acme;  // `acme:`: automatic certificates
  std::optional<AdminConfig> admin;           // `admin:`: status endpoint
};

}  // namespace portico::config
