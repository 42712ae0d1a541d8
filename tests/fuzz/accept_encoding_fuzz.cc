// libFuzzer target for Accept-Encoding negotiation.
//
// The first input byte chooses the server's preference list (a permutation of a subset of
// zstd, br, gzip), the rest is the field value. Whatever the value, the choice must be
// Identity or one of the offered codings, repeatable, and Identity for a value that is empty.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "http/accept_encoding.h"

namespace {

using portico::fuzz::check;
using portico::http::ContentCoding;

std::vector<ContentCoding> preferenceFrom(uint8_t choice) {
  static constexpr std::array<ContentCoding, 3> kCodings{ContentCoding::Zstd, ContentCoding::Brotli,
                                                         ContentCoding::Gzip};
  std::vector<ContentCoding> out;
  // Bits 0-2: which codings are offered; bits 3-4: a rotation of their order.
  for (size_t i = 0; i < kCodings.size(); ++i) {
    const ContentCoding c = kCodings[(i + (choice >> 3)) % kCodings.size()];
    if ((choice >> i) & 1) out.push_back(c);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::vector<ContentCoding> preference = preferenceFrom(data[0]);
  const std::string value(reinterpret_cast<const char*>(data) + 1, size - 1);
  const ContentCoding chosen = portico::http::chooseCoding(value, preference);
  bool offered = chosen == ContentCoding::Identity;
  for (ContentCoding c : preference) offered = offered || c == chosen;
  check(offered);
  check(portico::http::chooseCoding(value, preference) == chosen);
  if (value.empty()) check(chosen == ContentCoding::Identity);
  return 0;
}
