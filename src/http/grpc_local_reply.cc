#include "http/grpc_local_reply.h"

#include <string>

#include <optional>

namespace portico::http {

namespace {
constexpr std::string_view kGrpc = "application/grpc";
constexpr std::string_view kGrpcWeb = "application/grpc-web";
}  // namespace

bool isGrpcContentType(std::string_view content_type) {
  if (content_type.size() < kGrpc.size()) return false;
  if (!equalsIgnoreCase(content_type.substr(0, kGrpc.size()), kGrpc)) return false;
  if (content_type.size() == kGrpc.size()) return true;
  const char next = content_type[kGrpc.size()];
  return next == '+' || next == ';' || next == '-' || next == ' ';
}

bool isGrpcRequest(const HeaderMap& request_headers) {
  std::optional<std::string_view> type = request_headers.get("Content-Type");
  return type && isGrpcContentType(*type);
}

GrpcStatus grpcStatusForHttp(uint16_t http_status) {
  switch (http_status) {
    case 400:
      return GrpcStatus::Internal;
    case 401:
      return GrpcStatus::Unauthenticated;
    case 403:
      return GrpcStatus::PermissionDenied;
    case 404:
      return GrpcStatus::Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus::Unavailable;
    default:
      return GrpcStatus::Unknown;
  }
}

std::string percentEncodeGrpcMessage(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (const char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c <= 0x7E && c != '%') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

void makeGrpcLocalReply(uint16_t http_status, std::string_view message,
                        std::string_view request_content_type, ResponseHead& head) {
  head.status = 200;
  head.reason.clear();
  head.headers.clear();
  const bool web = request_content_type.size() >= kGrpcWeb.size() &&
                   equalsIgnoreCase(request_content_type.substr(0, kGrpcWeb.size()), kGrpcWeb);
  head.headers.add("Content-Type", web ? kGrpcWeb : kGrpc);
  head.headers.add("grpc-status",
                   std::to_string(static_cast<unsigned>(grpcStatusForHttp(http_status))));
  std::string text;
  if (message.empty()) {
    text = std::to_string(http_status);
    text += ' ';
    text += reasonPhrase(http_status);
    message = text;
  }
  head.headers.add("grpc-message", percentEncodeGrpcMessage(message));
}

}  // namespace portico::http
