#pragma once
// Readers for values many parts of the configuration share: names, header names and values,
// paths, header maps, and a check for repeated values. Each reports its own problems (see
// yaml/reader.h).

#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "yaml/reader.h"

namespace portico::yaml {

// Remembers values already used in one scope (listener names, domains of a listener, ...) and
// reports a repeat with a pointer to the first use.
class UniqueValues {
 public:
  explicit UniqueValues(std::string what) : what_(std::move(what)) {}
  // Returns false (after reporting) when value was seen before.
  bool check(Reader& reader, const Field& field, const std::string& value);

 private:
  std::string what_;
  std::unordered_map<std::string, std::pair<std::string, int>> first_;  // value -> path, line
};

// Listener, cluster, virtual host and route names (see isName).
std::optional<std::string> readName(Reader& reader, const Field& field);
// A header field name (a token), as written.
std::optional<std::string> readHeaderName(Reader& reader, const Field& field);
// A header name that header rules may add, set or remove: a token the proxy does not manage.
std::optional<std::string> readEditableHeaderName(Reader& reader, const Field& field);
// A header field value: no control characters.
std::optional<std::string> readHeaderValue(Reader& reader, const Field& field);
// A URL path starting with '/'.
std::optional<std::string> readPath(Reader& reader, const Field& field);
// A mapping of header name -> value, in document order. Names the proxy manages itself
// (Content-Length, Connection, ...) are refused.
std::vector<std::pair<std::string, std::string>> readHeaderMap(Reader& reader, const Field& field);

}  // namespace portico::yaml
