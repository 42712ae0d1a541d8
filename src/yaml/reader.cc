#include "yaml/reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <unordered_map>

#include "yaml/units.h"

namespace portico::yaml {
namespace {

bool hasUsableMark(const YAML::Node& node) {
  return !node.IsNull() && !node.Mark().is_null();
}

// A scalar's text, or nullopt after reporting "expected <what>, got <kind>".
std::optional<std::string> scalarText(Reader& reader, const Field& field, std::string_view what) {
  if (field.node.IsScalar()) {
    reader.countBytes(field.node.Scalar().size());
    return field.node.Scalar();
  }
  reader.error(field.mark, field.path,
               "expected " + std::string(what) + ", got " + describe(field.node));
  return std::nullopt;
}

std::string rangeText(const std::string& min, const std::string& max, bool has_min, bool has_max) {
  if (has_min && has_max) return "must be between " + min + " and " + max;
  if (has_min) return "must be at least " + min;
  return "must be at most " + max;
}

}  // namespace

ConfigError Reader::make(const YAML::Mark& mark, std::string_view key, std::string message) const {
  ConfigError e;
  e.file = file_;
  // yaml-cpp marks are 0-based; some synthesized nodes carry no mark at all.
  e.line = (mark.is_null() || mark.line < 0) ? 1 : mark.line + 1;
  e.column = (mark.is_null() || mark.column < 0) ? 1 : mark.column + 1;
  e.key = key.empty() ? "-" : std::string(key);
  e.message = std::move(message);
  return e;
}

void Reader::error(const YAML::Mark& mark, std::string_view key, std::string message) {
  errors_.push_back(make(mark, key, std::move(message)));
  if (errors_.size() >= kMaxErrors) {
    stop_ = make(YAML::Mark::null_mark(), "",
                 "too many errors (" + std::to_string(kMaxErrors) +
                     "); stopping here, fix these and run again");
    throw AbortLoad{};
  }
}

void Reader::fatal(const YAML::Mark& mark, std::string_view key, std::string message) {
  errors_.push_back(make(mark, key, std::move(message)));
}

void Reader::countNode() {
  if (++nodes_ <= kMaxNodes) return;
  stop_ = make(YAML::Mark::null_mark(), "",
               "configuration too complex: more than " + std::to_string(kMaxNodes) +
                   " values after expanding aliases");
  throw AbortLoad{};
}

void Reader::countBytes(size_t n) {
  bytes_ += n;
  if (bytes_ <= kMaxScalarBytes) return;
  stop_ = make(YAML::Mark::null_mark(), "",
               "configuration too complex: more than " + std::to_string(kMaxScalarBytes >> 20) +
                   " MiB of values after expanding aliases");
  throw AbortLoad{};
}

std::vector<ConfigError> Reader::takeErrors() {
  // Sections are read in schema order, not file order; sorting gives the operator a list to
  // fix top to bottom.
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  if (stop_) errors_.push_back(std::move(*stop_));
  stop_.reset();
  return std::move(errors_);
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string quote(std::string_view text) {
  constexpr size_t kMaxShown = 64;
  bool truncated = text.size() > kMaxShown;
  if (truncated) text = text.substr(0, kMaxShown);
  std::string out = "\"";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      // Control bytes would corrupt the terminal or log line the error is printed to.
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  if (truncated) out += "...";
  return out;
}

std::string joinPath(std::string_view parent, std::string_view key) {
  // Real keys are short; a huge one (a typo, or an attack) must not be copied into every
  // path below it and every error message.
  constexpr size_t kMaxKeyShown = 128;
  std::string out(parent);
  if (!out.empty()) out.push_back('.');
  out.append(key.substr(0, kMaxKeyShown));
  if (key.size() > kMaxKeyShown) out.append("...");
  return out;
}

std::string indexPath(std::string_view parent, size_t index) {
  std::string out(parent);
  out.push_back('[');
  out.append(std::to_string(index));
  out.push_back(']');
  return out;
}

MapReader::MapReader(Reader& reader, const Field& field,
                     std::initializer_list<std::string_view> allowed)
    : MapReader(reader, field, std::span<const std::string_view>(allowed.begin(), allowed.size())) {
}

MapReader::MapReader(Reader& reader, const Field& field, std::span<const std::string_view> allowed)
    : reader_(reader), self_(field) {
  reader_.countNode();
  if (!field.node.IsMap()) {
    reader_.error(field.mark, field.path, "expected a mapping, got " + describe(field.node));
    return;
  }
  valid_ = true;
  for (auto it = field.node.begin(); it != field.node.end(); ++it) {
    reader_.countNode();
    YAML::Node key_node = it->first;
    YAML::Node value = it->second;
    if (!key_node.IsScalar()) {
      reader_.error(key_node.Mark(), field.path,
                    "expected a string key, got " + describe(key_node));
      continue;
    }
    const std::string& key = key_node.Scalar();
    std::string path = joinPath(field.path, key);
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) {
      std::string expected;
      for (std::string_view a : allowed) {
        if (!expected.empty()) expected += ", ";
        expected += a;
      }
      reader_.error(key_node.Mark(), path, "unknown key; expected one of: " + expected);
      continue;
    }
    bool duplicate = false;
    for (const Entry& e : entries_) {
      if (e.key != key) continue;
      // YAML says keys are unique, but yaml-cpp keeps both; silently using one would hide
      // half of what the operator wrote.
      reader_.error(
          key_node.Mark(), path,
          "duplicate key (first set at line " + std::to_string(e.key_mark.line + 1) + ")");
      duplicate = true;
      break;
    }
    if (duplicate) continue;
    YAML::Mark mark = hasUsableMark(value) ? value.Mark() : key_node.Mark();
    entries_.push_back(Entry{key, key_node.Mark(), Field{std::move(path), value, mark}});
  }
}

const Field* MapReader::find(std::string_view key) const {
  for (const Entry& e : entries_) {
    if (e.key == key) return &e.field;
  }
  return nullptr;
}

const Field* MapReader::require(std::string_view key) const {
  const Field* f = find(key);
  if (f == nullptr && valid_) {
    reader_.error(self_.mark, joinPath(self_.path, key), "missing required key");
  }
  return f;
}

YAML::Mark MapReader::keyMark(std::string_view key) const {
  for (const Entry& e : entries_) {
    if (e.key == key) return e.key_mark;
  }
  return self_.mark;
}

std::vector<KeyedField> entriesOf(Reader& reader, const Field& field) {
  std::vector<KeyedField> out;
  reader.countNode();
  if (!field.node.IsMap()) {
    reader.error(field.mark, field.path, "expected a mapping, got " + describe(field.node));
    return out;
  }
  std::unordered_map<std::string, int> first_line;
  for (auto it = field.node.begin(); it != field.node.end(); ++it) {
    reader.countNode();
    YAML::Node key_node = it->first;
    YAML::Node value = it->second;
    if (!key_node.IsScalar()) {
      reader.error(key_node.Mark(), field.path, "expected a string key, got " + describe(key_node));
      continue;
    }
    const std::string& key = key_node.Scalar();
    reader.countBytes(key.size());
    std::string path = joinPath(field.path, key);
    auto [pos, inserted] = first_line.emplace(key, key_node.Mark().line + 1);
    if (!inserted) {
      reader.error(key_node.Mark(), path,
                   "duplicate key (first set at line " + std::to_string(pos->second) + ")");
      continue;
    }
    YAML::Mark mark = hasUsableMark(value) ? value.Mark() : key_node.Mark();
    out.push_back(KeyedField{key, key_node.Mark(), Field{std::move(path), value, mark}});
  }
  return out;
}

std::vector<Field> itemsOf(Reader& reader, const Field& field, bool non_empty) {
  std::vector<Field> out;
  reader.countNode();
  if (!field.node.IsSequence()) {
    reader.error(field.mark, field.path, "expected a list, got " + describe(field.node));
    return out;
  }
  if (non_empty && field.node.size() == 0) {
    reader.error(field.mark, field.path, "must not be empty");
    return out;
  }
  size_t index = 0;
  for (auto it = field.node.begin(); it != field.node.end(); ++it, ++index) {
    reader.countNode();
    YAML::Node item = *it;
    // An empty item ("- ") is marked at the next token; the list's own mark is never later
    // than the item, and the path names the index.
    YAML::Mark mark = hasUsableMark(item) ? item.Mark() : field.mark;
    out.push_back(Field{indexPath(field.path, index), item, mark});
  }
  return out;
}

std::optional<std::string> readString(Reader& reader, const Field& field) {
  return scalarText(reader, field, "a string");
}

std::optional<std::string> readNonEmptyString(Reader& reader, const Field& field) {
  std::optional<std::string> text = readString(reader, field);
  if (text && text->empty()) {
    reader.error(field.mark, field.path, "must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<int64_t> readInt(Reader& reader, const Field& field, int64_t min, int64_t max) {
  std::optional<std::string> text = scalarText(reader, field, "an integer");
  if (!text) return std::nullopt;
  std::optional<int64_t> value = parseInteger(*text);
  if (!value) {
    reader.error(field.mark, field.path, "expected an integer, got " + quote(*text));
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    reader.error(field.mark, field.path,
                 rangeText(std::to_string(min), std::to_string(max),
                           min > std::numeric_limits<int64_t>::min(),
                           max < std::numeric_limits<int64_t>::max()) +
                     ", got " + *text);
    return std::nullopt;
  }
  return value;
}

std::optional<double> readDecimal(Reader& reader, const Field& field, double min, double max) {
  std::optional<std::string> text = scalarText(reader, field, "a number");
  if (!text) return std::nullopt;
  // Digits with at most one dot: what people write; strtod would also take "nan" and "1e400".
  const size_t dots = static_cast<size_t>(std::count(text->begin(), text->end(), '.'));
  const bool plain = !text->empty() && dots <= 1 && text->front() != '.' && text->back() != '.' &&
                     text->size() <= 20 && std::all_of(text->begin(), text->end(), [](char c) {
                       return (c >= '0' && c <= '9') || c == '.';
                     });
  if (!plain) {
    reader.error(field.mark, field.path, "expected a number like 1.5, got " + quote(*text));
    return std::nullopt;
  }
  const double value = std::strtod(text->c_str(), nullptr);
  if (value < min || value > max) {
    reader.error(
        field.mark, field.path,
        rangeText(fmt::format("{}", min), fmt::format("{}", max), true, true) + ", got " + *text);
    return std::nullopt;
  }
  return value;
}

std::optional<bool> readBool(Reader& reader, const Field& field) {
  std::optional<std::string> text = scalarText(reader, field, "true or false");
  if (!text) return std::nullopt;
  std::optional<bool> value = parseBool(*text);
  if (!value) reader.error(field.mark, field.path, "expected true or false, got " + quote(*text));
  return value;
}

std::optional<int64_t> readDurationMs(Reader& reader, const Field& field, int64_t min_ms,
                                      int64_t max_ms) {
  constexpr std::string_view kExpected = "a duration like 10s, 500ms, 2m or 7d";
  std::optional<std::string> text = scalarText(reader, field, kExpected);
  if (!text) return std::nullopt;
  std::optional<int64_t> value = parseDurationMs(*text);
  if (!value) {
    reader.error(field.mark, field.path,
                 "expected " + std::string(kExpected) + ", got " + quote(*text));
    return std::nullopt;
  }
  if (*value < min_ms || *value > max_ms) {
    reader.error(field.mark, field.path,
                 rangeText(formatDuration(min_ms), formatDuration(max_ms), min_ms > 0, true) +
                     ", got " + *text);
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> readSize(Reader& reader, const Field& field, uint64_t min, uint64_t max) {
  constexpr std::string_view kExpected = "a size like 8KiB, 64k or 1048576";
  std::optional<std::string> text = scalarText(reader, field, kExpected);
  if (!text) return std::nullopt;
  std::optional<uint64_t> value = parseSize(*text);
  if (!value) {
    reader.error(field.mark, field.path,
                 "expected " + std::string(kExpected) + ", got " + quote(*text));
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    reader.error(field.mark, field.path,
                 rangeText(formatSize(min), formatSize(max), min > 0, true) + ", got " + *text);
    return std::nullopt;
  }
  return value;
}

void reportBadEnum(Reader& reader, const Field& field, const std::vector<std::string_view>& names,
                   std::string_view got) {
  std::string expected;
  for (std::string_view n : names) {
    if (!expected.empty()) expected += ", ";
    expected += n;
  }
  reader.error(field.mark, field.path, "expected one of: " + expected + "; got " + quote(got));
}

}  // namespace portico::yaml
