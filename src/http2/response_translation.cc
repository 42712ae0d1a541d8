#include "http2/response_translation.h"

#include "http/field_list.h"
#include "http2/connection_fields.h"

namespace portico::http2 {

namespace {

// A response never carries TE (it only means something in a request).
bool droppedFromResponses(std::string_view name) {
  return connectionSpecific(name) || http::equalsIgnoreCase(name, "te");
}

}  // namespace

void HeaderBlock::buildResponse(uint16_t status, const http::HeaderMap& headers) {
  bytes_.clear();
  spans_.clear();
  const std::string code = std::to_string(status);
  spans_.push_back({0, 7, 7, code.size()});
  bytes_ += ":status";
  bytes_ += code;
  addFields(headers);
  finalize();
}

void HeaderBlock::buildTrailers(const http::HeaderMap& trailers) {
  bytes_.clear();
  spans_.clear();
  addFields(trailers);
  finalize();
}

void HeaderBlock::addFields(const http::HeaderMap& headers) {
  std::string nominated_storage;
  const std::string_view nominated = http::joinedValues(headers, "Connection", &nominated_storage);
  headers.forEach([&](std::string_view name, std::string_view value) {
    if (name.empty() || droppedFromResponses(name)) return;
    if (!nominated.empty() && http::listHasToken(nominated, name)) return;
    Span s;
    s.name_off = bytes_.size();
    s.name_len = name.size();
    for (char c : name) bytes_.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
    s.value_off = bytes_.size();
    s.value_len = value.size();
    bytes_.append(value);
    spans_.push_back(s);
  });
}

void HeaderBlock::finalize() {
  // Pointers are taken only now: appending may have moved the bytes.
  nv_.clear();
  auto* base = reinterpret_cast<uint8_t*>(bytes_.data());
  for (const Span& s : spans_) {
    nv_.push_back(
        {base + s.name_off, base + s.value_off, s.name_len, s.value_len, NGHTTP2_NV_FLAG_NONE});
  }
}

}  // namespace portico::http2
