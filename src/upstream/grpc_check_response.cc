#include "upstream/grpc_check_response.h"

#include <algorithm>
#include <cstdint>

namespace portico::upstream {
namespace {

// grpc.health.v1.HealthCheckResponse.ServingStatus
constexpr uint64_t kServing = 1;
const char* servingStatusName(uint64_t status) {
  switch (status) {
    case 0:
      return "UNKNOWN";
    case 2:
      return "NOT_SERVING";
    case 3:
      return "SERVICE_UNKNOWN";
    default:
      return "unexpected";
  }
}

void appendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool readVarint(std::string_view& in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// The `status` field (1, varint) of a HealthCheckResponse; unknown fields are skipped as
// protobuf requires. False when the message is malformed. Absent = 0 (UNKNOWN).
bool servingStatus(std::string_view message, uint64_t* status) {
  *status = 0;
  while (!message.empty()) {
    uint64_t key = 0;
    if (!readVarint(message, &key)) return false;
    uint64_t value = 0;
    switch (key & 7) {
      case 0:  // varint
        if (!readVarint(message, &value)) return false;
        if ((key >> 3) == 1) *status = value;
        break;
      case 1:  // 64-bit
        if (message.size() < 8) return false;
        message.remove_prefix(8);
        break;
      case 2:  // length-delimited
        if (!readVarint(message, &value) || value > message.size()) return false;
        message.remove_prefix(static_cast<size_t>(value));
        break;
      case 5:  // 32-bit
        if (message.size() < 4) return false;
        message.remove_prefix(4);
        break;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

std::string grpcHealthCheckRequest(const std::string& service) {
  std::string message;
  if (!service.empty()) {
    message.push_back(0x0a);  // field 1, length-delimited
    appendVarint(message, service.size());
    message += service;
  }
  std::string framed;
  framed.push_back(0);  // not compressed
  auto n = static_cast<uint32_t>(message.size());
  for (int shift = 24; shift >= 0; shift -= 8) framed.push_back(static_cast<char>(n >> shift));
  return framed + message;
}

void GrpcCheckResponse::fail(std::string why) {
  if (verdict_ != Verdict::Pending) return;
  verdict_ = Verdict::Unhealthy;
  reason_ = std::move(why);
}

void GrpcCheckResponse::decodeHeaders(http::ResponseHead& head, bool end_stream) {
  if (head.status != 200) {
    fail("status " + std::to_string(head.status));
    return;
  }
  if (end_stream) finish(head.headers);  // trailers-only: grpc-status is in the headers
}

void GrpcCheckResponse::decodeData(buffer::Buffer& data, bool end_stream) {
  size_t room = kGrpcCheckMessageLimit - std::min(message_.size(), kGrpcCheckMessageLimit);
  if (data.length() > room) {
    fail("response message over " + std::to_string(kGrpcCheckMessageLimit) + " bytes");
  } else {
    message_ += data.toString();
  }
  data.clear();
  if (end_stream) fail("no grpc-status (the call ended without trailers)");
}

void GrpcCheckResponse::decodeTrailers(http::HeaderMap& trailers) {
  finish(trailers);
}

void GrpcCheckResponse::onResponseError(const http::ResponseError& error) {
  fail("call failed: " + std::string(error.why));
}

void GrpcCheckResponse::finish(const http::HeaderMap& fields) {
  if (verdict_ != Verdict::Pending) return;
  std::optional<std::string_view> status = fields.get("grpc-status");
  if (!status) return fail("no grpc-status");
  if (*status != "0") return fail("grpc-status " + std::string(*status));
  // One message: flag byte 0 (compression is not asked for), 4-byte length, the message.
  if (message_.size() < 5 || message_[0] != 0) return fail("no valid HealthCheckResponse");
  uint32_t length = 0;
  for (int i = 1; i <= 4; ++i) length = (length << 8) | static_cast<uint8_t>(message_[i]);
  if (length != message_.size() - 5) return fail("no valid HealthCheckResponse");
  uint64_t serving = 0;
  if (!servingStatus(std::string_view(message_).substr(5), &serving)) {
    return fail("no valid HealthCheckResponse");
  }
  if (serving != kServing) return fail(std::string("serving status ") + servingStatusName(serving));
  verdict_ = Verdict::Healthy;
}

}  // namespace portico::upstream
