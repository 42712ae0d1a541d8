#pragma once
// A small schema-reading layer over yaml-cpp nodes, shared by config/ and by the filters that
// parse their own typed config (filters/registry.h). It knows paths,
// marks and how to phrase an error; it knows nothing of listeners or routes. Each reader
// reports its own problems and returns an empty optional, so callers simply skip the field
// and keep going: that is what lets one run collect every error in the file.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "yaml/error.h"

namespace portico::yaml {

// Thrown to unwind out of the schema walk when the error cap or the work budget is hit.
// Caught in config::loadConfigString; it never leaves the loader.
struct AbortLoad {};

class Reader {
 public:
  // More errors than this are noise: the first ones are what the operator fixes.
  static constexpr size_t kMaxErrors = 100;
  // Nodes visited, counting every alias expansion: a few aliases to aliases can otherwise make
  // a small file describe an exponentially large tree.
  static constexpr size_t kMaxNodes = 1'000'000;
  // Bytes of scalar text copied into the config, again counting alias expansions: a 500 KiB
  // body aliased from 10,000 routes would otherwise become 5 GB of strings.
  static constexpr size_t kMaxScalarBytes = 64 * 1024 * 1024;

  explicit Reader(std::string file) : file_(std::move(file)) {}

  // Records an error; throws AbortLoad once kMaxErrors have been recorded.
  void error(const YAML::Mark& mark, std::string_view key, std::string message);
  // Records an error and never throws: for the loader's own exception handlers.
  void fatal(const YAML::Mark& mark, std::string_view key, std::string message);
  // Called once per visited node; throws AbortLoad when the budget is exhausted.
  void countNode();
  // Called with the size of each scalar read; throws AbortLoad when the budget is exhausted.
  void countBytes(size_t n);

  // The file being read: relative paths in it are resolved against its directory.
  const std::string& file() const { return file_; }
  // Errors recorded so far: a step that depends on earlier keys being valid checks it first.
  size_t errorCount() const { return errors_.size(); }

  // All errors in file order, followed by the reason for stopping early, if any.
  std::vector<ConfigError> takeErrors();

 private:
  ConfigError make(const YAML::Mark& mark, std::string_view key, std::string message) const;

  std::string file_;
  std::vector<ConfigError> errors_;
  std::optional<ConfigError> stop_;
  size_t nodes_ = 0;
  size_t bytes_ = 0;
};

// A value in the document and the path that reached it.
struct Field {
  std::string path;  // "listeners[0].address"; "" for the document root
  YAML::Node node;
  // Where errors about this value point: the value itself, or its key when the value is empty
  // (yaml-cpp marks an empty value at the next token, often on another line).
  YAML::Mark mark;
};

// "a mapping", "a list", the quoted scalar, or "nothing": for "expected X, got Y" messages.
std::string describe(const YAML::Node& node);
// The value quoted and escaped for an error message, truncated when long.
std::string quote(std::string_view text);
// "listeners" + 0 -> "listeners[0]"; "" + "workers" -> "workers".
std::string joinPath(std::string_view parent, std::string_view key);
std::string indexPath(std::string_view parent, size_t index);

// A mapping whose keys are checked against a fixed set. Unknown and repeated keys are
// reported once, on construction.
class MapReader {
 public:
  MapReader(Reader& reader, const Field& field, std::initializer_list<std::string_view> allowed);
  // The same with a set of keys known only at run time (a route's keys include every
  // registered filter's).
  MapReader(Reader& reader, const Field& field, std::span<const std::string_view> allowed);

  bool valid() const { return valid_; }
  // nullptr when the key is absent (or the node was not a mapping).
  const Field* find(std::string_view key) const;
  // Like find, but reports "missing required key" at this mapping when absent.
  const Field* require(std::string_view key) const;
  // The key node's mark for a present key, for errors about the key's presence itself.
  YAML::Mark keyMark(std::string_view key) const;

 private:
  struct Entry {
    std::string key;
    YAML::Mark key_mark;
    Field field;
  };
  Reader& reader_;
  Field self_;
  bool valid_ = false;
  std::vector<Entry> entries_;
};

// Every (key, value) of a mapping with free-form keys (header names, status codes). Reports a
// non-mapping, non-scalar keys and repeated keys.
struct KeyedField {
  std::string key;
  YAML::Mark key_mark;
  Field field;
};
std::vector<KeyedField> entriesOf(Reader& reader, const Field& field);

// The elements of a list. Reports a non-list and, when non_empty, an empty list.
std::vector<Field> itemsOf(Reader& reader, const Field& field, bool non_empty);

// Scalar readers: each reports what was expected and returns nullopt on a bad value.
std::optional<std::string> readString(Reader& reader, const Field& field);
// A string that must not be empty.
std::optional<std::string> readNonEmptyString(Reader& reader, const Field& field);
std::optional<int64_t> readInt(Reader& reader, const Field& field, int64_t min, int64_t max);
std::optional<bool> readBool(Reader& reader, const Field& field);
// A plain decimal number like 1, 1.5 or 0.25 (no exponent, no sign), within [min, max].
std::optional<double> readDecimal(Reader& reader, const Field& field, double min, double max);
std::optional<int64_t> readDurationMs(Reader& reader, const Field& field, int64_t min_ms,
                                      int64_t max_ms);
std::optional<uint64_t> readSize(Reader& reader, const Field& field, uint64_t min, uint64_t max);

template <typename E>
using EnumNames = std::initializer_list<std::pair<std::string_view, E>>;

// Shared by readEnum instantiations: "expected one of: a, b, c; got \"x\"".
void reportBadEnum(Reader& reader, const Field& field, const std::vector<std::string_view>& names,
                   std::string_view got);

template <typename E>
std::optional<E> readEnum(Reader& reader, const Field& field, EnumNames<E> names) {
  std::optional<std::string> text = readString(reader, field);
  if (!text) return std::nullopt;
  std::vector<std::string_view> all;
  for (const auto& [name, value] : names) {
    if (*text == name) return value;
    all.push_back(name);
  }
  reportBadEnum(reader, field, all, *text);
  return std::nullopt;
}

// Stores a reader's result into a config field when it succeeded; leaves the default otherwise.
template <typename T, typename U>
void assignIf(T* out, const std::optional<U>& value) {
  if (value) *out = static_cast<T>(*value);
}

}  // namespace portico::yaml
