#include "filters/compress/content_types.h"

#include <optional>

#include "http/header_map.h"
#include "http/tokens.h"

namespace portico::filters::compress {
namespace {

constexpr std::string_view kDefaultTypes[] = {
    // text/* covers html, css, plain, csv, xml, markdown, javascript and event-stream (which
    // stays live through compression because every event can be a Flush::Sync).
    "text/*",
    // JSON and XML, and every type built on them under any top-level type (manifest+json,
    // ld+json, problem+json, rss+xml, atom+xml, xhtml+xml, image/svg+xml ...).
    "application/json", "*/*+json", "application/x-ndjson", "application/xml", "*/*+xml",
    // Scripts under their historic names (text/javascript is the registered one).
    "application/javascript", "application/x-javascript", "application/ecmascript",
    // Binary formats that are not compressed inside (unlike WOFF fonts, PNG or JPEG).
    "application/wasm", "font/ttf", "font/otf", "font/collection", "application/x-font-ttf",
    "application/x-font-opentype", "application/vnd.ms-fontobject", "image/bmp", "image/x-icon",
    "image/vnd.microsoft.icon",
    // Config-like text served under application/.
    "application/yaml"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool endsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         http::equalsIgnoreCase(s.substr(s.size() - suffix.size()), suffix);
}

// Splits "type/subtype" at the slash; nullopt unless both halves are tokens. "*" is a token,
// so wildcards pass here and are interpreted by the caller.
std::optional<std::pair<std::string_view, std::string_view>> splitMediaType(std::string_view s) {
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view type = s.substr(0, slash);
  const std::string_view subtype = s.substr(slash + 1);
  if (!http::isToken(type) || !http::isToken(subtype)) return std::nullopt;
  return std::pair{type, subtype};
}

}  // namespace

std::span<const std::string_view> defaultCompressibleTypes() {
  return kDefaultTypes;
}

bool ContentTypeMatcher::validPattern(std::string_view pattern) {
  const auto parts = splitMediaType(pattern);
  if (!parts) return false;
  const auto [type, subtype] = *parts;
  if (subtype == "*") return true;
  if (subtype.starts_with("*")) return subtype.size() > 2 && subtype[1] == '+';
  // A wildcard type with an exact subtype ("*/json") names nothing real.
  return type != "*" && subtype.find('*') == std::string_view::npos;
}

ContentTypeMatcher::ContentTypeMatcher(std::vector<std::string> patterns) {
  patterns_.reserve(patterns.size());
  for (const std::string& p : patterns) {
    if (!validPattern(p)) continue;
    const auto [type, subtype] = *splitMediaType(p);
    Pattern compiled;
    if (type != "*") compiled.type = lower(type);
    if (subtype != "*") {
      compiled.suffix = subtype.starts_with("*+");
      compiled.subtype = lower(compiled.suffix ? subtype.substr(1) : subtype);
    }
    patterns_.push_back(std::move(compiled));
  }
}

bool ContentTypeMatcher::matches(std::string_view content_type) const {
  const auto parts = splitMediaType(http::trimOws(content_type.substr(0, content_type.find(';'))));
  if (!parts) return false;
  const auto [type, subtype] = *parts;
  for (const Pattern& p : patterns_) {
    if (!p.type.empty() && !http::equalsIgnoreCase(type, p.type)) continue;
    if (p.subtype.empty()) return true;
    // "+json" must follow a non-empty name: "application/+json" is no JSON type.
    if (p.suffix ? subtype.size() > p.subtype.size() && endsWithIgnoreCase(subtype, p.subtype)
                 : http::equalsIgnoreCase(subtype, p.subtype))
      return true;
  }
  return false;
}

}  // namespace portico::filters::compress
