#pragma once
// Writing HTTP/1.1 heads and chunk framing into a Buffer. Shared by the server codec
// (responses) and the client codec (requests).

#include <cstdint>
#include <string_view>

#include "buffer/buffer.h"
#include "http/header_map.h"
#include "http/message.h"

namespace portico::http1 {

// Appends "name: value\r\n" for each field. Fields named in `skip` callbacks are omitted by the
// caller beforehand; this writes everything in `headers`.
void appendHeaderFields(buffer::Buffer& out, const http::HeaderMap& headers);

// "HTTP/1.1 200 OK\r\n"
void appendStatusLine(buffer::Buffer& out, uint16_t status, std::string_view reason);

// "<hex>\r\n" for a chunk of `size` bytes.
void appendChunkHeader(buffer::Buffer& out, size_t size);

// Appends a decimal number.
void appendDecimal(buffer::Buffer& out, uint64_t value);

}  // namespace portico::http1
