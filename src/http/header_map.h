#pragma once
// HeaderMap: an ordered list of header fields that owns its bytes.
// Names keep the case they arrived with; lookups are case-insensitive (RFC 9110 5.1).
// All bytes live in one arena string and entries are offsets into it, so a map that is
// clear()ed and refilled for the next request on a connection allocates nothing once
// warm. Worker-local: not thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::http {

bool equalsIgnoreCase(std::string_view a, std::string_view b);

class HeaderMap {
 public:
  struct Field {
    std::string_view name;
    std::string_view value;
  };

  void add(std::string_view name, std::string_view value);
  // Removes every field named `name`, then adds one.
  void set(std::string_view name, std::string_view value);
  // Removes every field named `name`; returns how many were removed.
  size_t remove(std::string_view name);
  // Removes every field for which `pred(name)` is true, in one pass; returns how many.
  template <typename Pred>
  size_t removeIf(Pred&& pred);
  // The first field named `name`.
  std::optional<std::string_view> get(std::string_view name) const;
  size_t count(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  Field at(size_t i) const;
  // Sum of name and value lengths: what the limits on header size count.
  size_t byteSize() const { return bytes_; }

  void clear();
  // Replaces the contents with a copy of `other` (which must not be this map).
  void assign(const HeaderMap& other) {
    arena_ = other.arena_;
    entries_ = other.entries_;
    bytes_ = other.bytes_;
  }

  template <typename F>
  void forEach(F&& f) const {
    for (size_t i = 0; i < entries_.size(); ++i) f(at(i).name, at(i).value);
  }

 private:
  struct Entry {
    uint32_t name_off;
    uint32_t name_len;
    uint32_t value_off;
    uint32_t value_len;
  };
  void compactIfWasteful();
  std::string_view nameOf(const Entry& e) const { return {arena_.data() + e.name_off, e.name_len}; }

  std::string arena_;
  std::vector<Entry> entries_;
  size_t bytes_ = 0;
};

// Every line of the field `name` as one value, joined by ", " (RFC 9110 5.3: the same list);
// "" when absent. Points into `headers` unless several lines had to be joined into `*storage`.
std::string_view joinedValues(const HeaderMap& headers, std::string_view name,
                              std::string* storage);

template <typename Pred>
size_t HeaderMap::removeIf(Pred&& pred) {
  size_t out = 0;
  const size_t before = entries_.size();
  for (size_t i = 0; i < before; ++i) {
    const Entry& e = entries_[i];
    if (pred(nameOf(e))) {
      bytes_ -= e.name_len + e.value_len;
      continue;
    }
    entries_[out++] = e;
  }
  entries_.resize(out);
  if (out != before) compactIfWasteful();
  return before - out;
}

}  // namespace portico::http
