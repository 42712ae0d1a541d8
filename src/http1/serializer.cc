#include "http1/serializer.h"

#include <cstring>

namespace portico::http1 {

void appendHeaderFields(buffer::Buffer& out, const http::HeaderMap& headers) {
  for (size_t i = 0; i < headers.size(); ++i) {
    auto f = headers.at(i);
    // One reserve per field keeps this to a memcpy or two in the common case.
    size_t need = f.name.size() + f.value.size() + 4;
    auto [dst, room] = out.reserve(need);
    if (room >= need) {
      std::memcpy(dst, f.name.data(), f.name.size());
      dst += f.name.size();
      *dst++ = ':';
      *dst++ = ' ';
      std::memcpy(dst, f.value.data(), f.value.size());
      dst += f.value.size();
      *dst++ = '\r';
      *dst++ = '\n';
      out.commit(need);
    } else {
      out.commit(0);
      out.append(f.name);
      out.append(": ", 2);
      out.append(f.value);
      out.append("\r\n", 2);
    }
  }
}

void appendDecimal(buffer::Buffer& out, uint64_t value) {
  char digits[24];
  int n = 0;
  do {
    digits[sizeof digits - 1 - n] = static_cast<char>('0' + value % 10);
    value /= 10;
    ++n;
  } while (value != 0);
  out.append(digits + sizeof digits - n, static_cast<size_t>(n));
}

void appendStatusLine(buffer::Buffer& out, uint16_t status, std::string_view reason) {
  char line[16] = "HTTP/1.1 000 ";
  line[9] = static_cast<char>('0' + status / 100 % 10);
  line[10] = static_cast<char>('0' + status / 10 % 10);
  line[11] = static_cast<char>('0' + status % 10);
  out.append(line, 13);
  out.append(reason.empty() ? http::reasonPhrase(status) : reason);
  out.append("\r\n", 2);
}

void appendChunkHeader(buffer::Buffer& out, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  char digits[20];
  int n = 0;
  do {
    digits[sizeof digits - 1 - n] = kHex[size & 15];
    size >>= 4;
    ++n;
  } while (size != 0);
  out.append(digits + sizeof digits - n, static_cast<size_t>(n));
  out.append("\r\n", 2);
}

}  // namespace portico::http1
