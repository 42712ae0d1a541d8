#include "yaml/fields.h"

#include "yaml/text_checks.h"

namespace portico::yaml {
namespace {

constexpr std::string_view kTokenChars = "letters, digits and !#$%&'*+-.^_`|~";

// Refuses names of headers the proxy manages; returns false after reporting.
bool checkNotManaged(Reader& reader, const YAML::Mark& mark, const std::string& path,
                     const std::string& name) {
  if (!isManagedHeader(name)) return true;
  const std::string why = " is managed by the proxy (message framing or connection handling)";
  reader.error(mark, path, quote(name) + why + " and cannot be configured");
  return false;
}

}  // namespace

bool UniqueValues::check(Reader& reader, const Field& field, const std::string& value) {
  auto [it, inserted] = first_.emplace(value, std::make_pair(field.path, field.mark.line + 1));
  if (inserted) return true;
  reader.error(field.mark, field.path,
               "duplicate " + what_ + " " + quote(value) + " (first used at " + it->second.first +
                   ", line " + std::to_string(it->second.second) + ")");
  return false;
}

std::optional<std::string> readName(Reader& reader, const Field& field) {
  std::optional<std::string> text = readNonEmptyString(reader, field);
  if (text && !isName(*text)) {
    reader.error(
        field.mark, field.path,
        "expected a name of letters, digits, '-', '_' and '.' (at most 128), got " + quote(*text));
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> readHeaderName(Reader& reader, const Field& field) {
  std::optional<std::string> text = readString(reader, field);
  if (text && !isToken(*text)) {
    reader.error(field.mark, field.path,
                 "expected a header name (" + std::string(kTokenChars) + "), got " + quote(*text));
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> readEditableHeaderName(Reader& reader, const Field& field) {
  std::optional<std::string> name = readHeaderName(reader, field);
  if (name && !checkNotManaged(reader, field.mark, field.path, *name)) return std::nullopt;
  return name;
}

std::optional<std::string> readHeaderValue(Reader& reader, const Field& field) {
  std::optional<std::string> text = readString(reader, field);
  if (text && !isHeaderValue(*text)) {
    reader.error(field.mark, field.path,
                 "header values must not contain control characters (CR, LF, NUL, ...), got " +
                     quote(*text));
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> readPath(Reader& reader, const Field& field) {
  std::optional<std::string> text = readString(reader, field);
  if (text && !isPath(*text)) {
    const std::string expected =
        "expected a path starting with '/' without spaces, control characters or '#'";
    reader.error(field.mark, field.path, expected + ", got " + quote(*text));
    return std::nullopt;
  }
  return text;
}

std::vector<std::pair<std::string, std::string>> readHeaderMap(Reader& reader, const Field& field) {
  std::vector<std::pair<std::string, std::string>> out;
  UniqueValues seen("header");
  for (const KeyedField& entry : entriesOf(reader, field)) {
    const std::string& name = entry.key;
    if (!isToken(name)) {
      reader.error(entry.key_mark, entry.field.path,
                   "expected a header name (" + std::string(kTokenChars) + "), got " + quote(name));
      continue;
    }
    if (!checkNotManaged(reader, entry.key_mark, entry.field.path, name)) continue;
    // Header names are case-insensitive: "X-A" and "x-a" in one map are the same header.
    std::string lower;
    for (char c : name) lower.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c);
    Field at_key{entry.field.path, entry.field.node, entry.key_mark};
    if (!seen.check(reader, at_key, lower)) continue;
    std::optional<std::string> value = readHeaderValue(reader, entry.field);
    if (value) out.emplace_back(name, std::move(*value));
  }
  return out;
}

}  // namespace portico::yaml
