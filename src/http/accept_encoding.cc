#include "http/accept_encoding.h"

#include <algorithm>
#include <array>

#include "http/field_list.h"
#include "http/header_map.h"
#include "http/tokens.h"

namespace portico::http {
namespace {

// q-values are kept in thousandths: RFC 9110 12.4.2 allows at most three decimals, so every
// valid weight is an exact integer and comparisons need no floating point.
constexpr int kQMax = 1000;
constexpr int kUnlisted = -1;
constexpr size_t kCodingCount = 4;

constexpr size_t indexOf(ContentCoding c) {
  return static_cast<size_t>(c);
}

// The weights one Accept-Encoding value gives each coding Portico knows, and "*".
struct Weights {
  std::array<int, kCodingCount> coding{kUnlisted, kUnlisted, kUnlisted, kUnlisted};
  int star = kUnlisted;

  // An explicit entry beats "*"; "*" covers only what is not listed; unlisted is 0.
  int of(ContentCoding c) const {
    const int own = coding[indexOf(c)];
    if (own != kUnlisted) return own;
    return star != kUnlisted ? star : 0;
  }
};

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths; -1 if malformed.
int parseQValue(std::string_view v) {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
  const int whole = v[0] - '0';
  if (v.size() == 1) return whole * kQMax;
  if (v[1] != '.' || v.size() > 5) return -1;
  int fraction = 0;
  int scale = 100;
  for (char c : v.substr(2)) {
    if (c < '0' || c > '9') return -1;
    fraction += (c - '0') * scale;
    scale /= 10;
  }
  if (whole == 1 && fraction != 0) return -1;
  return whole * kQMax + fraction;
}

// One list member: coding *( OWS ";" OWS name "=" value ). Returns its q, or -1 when the
// member is malformed (then the caller ignores it, as a lenient recipient should).
int parseMemberWeight(std::string_view params) {
  int q = kQMax;
  while (!params.empty()) {
    const size_t semi = params.find(';');
    const std::string_view param = trimOws(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (param.empty()) continue;  // "gzip;" or "gzip;;q=1": harmless, skip
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos) return -1;
    const std::string_view name = trimOws(param.substr(0, eq));
    if (!isToken(name)) return -1;
    // Accept-Encoding defines no parameter but the weight; any other one is ignored.
    if (!equalsIgnoreCase(name, "q")) continue;
    q = parseQValue(trimOws(param.substr(eq + 1)));
    if (q < 0) return -1;
  }
  return q;
}

Weights parseWeights(std::string_view accept_encoding) {
  Weights w;
  forEachListElement(accept_encoding, [&w](std::string_view member) {
    const size_t semi = member.find(';');
    const std::string_view name = trimOws(member.substr(0, semi));
    if (!isToken(name)) return true;
    const int q = parseMemberWeight(semi == std::string_view::npos ? std::string_view()
                                                                   : member.substr(semi + 1));
    if (q < 0) return true;
    // A coding named twice keeps its highest weight: the client accepts it at least that much.
    if (name == "*") {
      w.star = std::max(w.star, q);
    } else if (const auto coding = codingByName(name)) {
      int& slot = w.coding[indexOf(*coding)];
      slot = std::max(slot, q);
    }
    return true;
  });
  return w;
}

}  // namespace

std::optional<ContentCoding> codingByName(std::string_view name) {
  if (equalsIgnoreCase(name, "gzip") || equalsIgnoreCase(name, "x-gzip"))
    return ContentCoding::Gzip;
  if (equalsIgnoreCase(name, "br")) return ContentCoding::Brotli;
  if (equalsIgnoreCase(name, "zstd")) return ContentCoding::Zstd;
  if (equalsIgnoreCase(name, "identity")) return ContentCoding::Identity;
  return std::nullopt;
}

std::string_view codingName(ContentCoding coding) {
  switch (coding) {
    case ContentCoding::Identity:
      return "identity";
    case ContentCoding::Gzip:
      return "gzip";
    case ContentCoding::Brotli:
      return "br";
    case ContentCoding::Zstd:
      return "zstd";
  }
  return "identity";
}

std::string_view codingExtension(ContentCoding coding) {
  switch (coding) {
    case ContentCoding::Identity:
      return "";
    case ContentCoding::Gzip:
      return ".gz";
    case ContentCoding::Brotli:
      return ".br";
    case ContentCoding::Zstd:
      return ".zst";
  }
  return "";
}

ContentCoding chooseCoding(std::string_view accept_encoding,
                           std::span<const ContentCoding> server_preference) {
  if (accept_encoding.empty()) return ContentCoding::Identity;
  const Weights w = parseWeights(accept_encoding);
  ContentCoding best = ContentCoding::Identity;
  int best_q = 0;
  for (ContentCoding c : server_preference) {
    if (c == ContentCoding::Identity) continue;
    const int q = w.of(c);
    if (q > best_q) {  // strictly: an equal q later in the preference list loses
      best = c;
      best_q = q;
    }
  }
  if (best == ContentCoding::Identity) return best;
  return w.of(ContentCoding::Identity) > best_q ? ContentCoding::Identity : best;
}

}  // namespace portico::http
