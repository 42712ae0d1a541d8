#include "http/header_map.h"

namespace portico::http {

namespace {
inline unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}
}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

void HeaderMap::add(std::string_view name, std::string_view value) {
  Entry e;
  e.name_off = static_cast<uint32_t>(arena_.size());
  e.name_len = static_cast<uint32_t>(name.size());
  arena_.append(name);
  e.value_off = static_cast<uint32_t>(arena_.size());
  e.value_len = static_cast<uint32_t>(value.size());
  arena_.append(value);
  entries_.push_back(e);
  bytes_ += name.size() + value.size();
}

void HeaderMap::set(std::string_view name, std::string_view value) {
  // `value` may point into our own arena (e.g. set(x, get(y))): copy before mutating.
  if (!arena_.empty() && value.data() >= arena_.data() &&
      value.data() < arena_.data() + arena_.size()) {
    std::string copy(value);
    remove(name);
    add(name, copy);
    return;
  }
  remove(name);
  add(name, value);
}

size_t HeaderMap::remove(std::string_view name) {
  return removeIf([name](std::string_view field) { return equalsIgnoreCase(field, name); });
}

std::optional<std::string_view> HeaderMap::get(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (equalsIgnoreCase(std::string_view(arena_.data() + e.name_off, e.name_len), name))
      return std::string_view(arena_.data() + e.value_off, e.value_len);
  }
  return std::nullopt;
}

size_t HeaderMap::count(std::string_view name) const {
  size_t n = 0;
  for (const Entry& e : entries_) {
    if (equalsIgnoreCase(std::string_view(arena_.data() + e.name_off, e.name_len), name)) ++n;
  }
  return n;
}

HeaderMap::Field HeaderMap::at(size_t i) const {
  const Entry& e = entries_[i];
  return {std::string_view(arena_.data() + e.name_off, e.name_len),
          std::string_view(arena_.data() + e.value_off, e.value_len)};
}

void HeaderMap::clear() {
  arena_.clear();
  entries_.clear();
  bytes_ = 0;
}

// Removed fields leave their bytes in the arena; rewrite it when more than half is dead so
// a stream of set() calls cannot grow it without bound.
void HeaderMap::compactIfWasteful() {
  if (arena_.size() < 1024 || bytes_ * 2 > arena_.size()) return;
  std::string fresh;
  fresh.reserve(bytes_);
  for (Entry& e : entries_) {
    uint32_t name_off = static_cast<uint32_t>(fresh.size());
    fresh.append(arena_, e.name_off, e.name_len);
    uint32_t value_off = static_cast<uint32_t>(fresh.size());
    fresh.append(arena_, e.value_off, e.value_len);
    e.name_off = name_off;
    e.value_off = value_off;
  }
  arena_.swap(fresh);
}

std::string_view joinedValues(const HeaderMap& headers, std::string_view name,
                              std::string* storage) {
  if (headers.count(name) <= 1) return headers.get(name).value_or(std::string_view());
  storage->clear();
  headers.forEach([storage, name](std::string_view n, std::string_view value) {
    if (!equalsIgnoreCase(n, name)) return;
    if (!storage->empty()) storage->append(", ");
    storage->append(value);
  });
  return *storage;
}

}  // namespace portico::http
