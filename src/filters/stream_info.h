#pragma once
// What the access log and metrics need to know about one request/response exchange.

#include <cstdint>
#include <string>

#include "event/event_loop.h"

namespace portico::filters {

struct StreamInfo {
  event::MonoTime start_ms = 0;
  int64_t start_wall_us = 0;  // for the access log's timestamp
  event::MonoTime upstream_start_ms = 0;
  event::MonoTime upstream_headers_ms = 0;  // response head received from upstream
  event::MonoTime end_ms = 0;
  uint16_t status = 0;  // status sent to the client (0 = none sent)
  uint64_t request_body_bytes = 0;
  uint64_t response_body_bytes = 0;
  std::string request_id;
  std::string upstream_address;  // last endpoint tried
  std::string route_name;
  uint32_t upstream_attempts = 0;
  // Why the stream ended unusually ("upstream connect refused", "client closed"), for the log.
  std::string failure;
  bool local_reply = false;
};

}  // namespace portico::filters
