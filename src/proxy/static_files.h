#pragma once
// Terminal filter for `static` routes: serves files below a root directory.

#include <memory_resource>

#include "proxy/filter.h"
#include "proxy/route_config.h"

namespace portico::proxy {

// Creates the filter in `arena` (see FilterFactory). `match` is the route's match: with a
// prefix match, the prefix is stripped before the path is resolved below the root.
Filter* makeStaticFilesFilter(std::pmr::memory_resource& arena, const StaticAction& action,
                              const RouteMatch& match);

}  // namespace portico::proxy
