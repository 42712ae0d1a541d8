#pragma once
// The named filter registry. Each filter registers, from its own folder:
//   - its name (docs, logs) and the route keys it owns ("compression"; the header rules own
//     "request_headers" and "response_headers");
//   - a parser that turns those keys of one route into a typed config, reporting problems
//     with file:line:col through the shared schema reader (yaml/reader.h);
//   - a factory (FilterFactory) built from that config once per config snapshot.
// The config loader offers every registered key on every route and calls the parser of each
// filter whose keys appear; proxy/ only sees FilterFactory pointers and includes no filter.
//
// Registration order is chain order: the order filters run on the request path (and the
// reverse on the response path). Adding a filter means one line in filters/registered.cc.

#include <memory>
#include <span>
#include <string_view>

#include "filters/filter.h"
#include "yaml/reader.h"

namespace portico::filters {

struct FilterRegistration {
  std::string_view name;
  std::span<const std::string_view> keys;
  // `fields[i]` is the value of keys[i] on this route, or null when absent; at least one is
  // present. Returns null after reporting problems through `reader`.
  using Parse = std::shared_ptr<const FilterFactory> (*)(
      yaml::Reader& reader, std::span<const yaml::Field* const> fields);
  Parse parse = nullptr;
};

// Every registered filter, in chain order.
std::span<const FilterRegistration* const> registeredFilters();

}  // namespace portico::filters
