// The filters Portico is built with, in chain order (request path order). Each folder below
// filters/ defines `const FilterRegistration& <folder>::registration()`; adding a filter is
// one line in this list.
#include "filters/registry.h"

#define PORTICO_FILTERS(X) X(fault) X(headers) X(compress) X(websocket)

namespace portico::filters {

#define PORTICO_DECLARE_FILTER(folder)      \
  namespace folder {                        \
  const FilterRegistration& registration(); \
  }
PORTICO_FILTERS(PORTICO_DECLARE_FILTER)
#undef PORTICO_DECLARE_FILTER

std::span<const FilterRegistration* const> registeredFilters() {
#define PORTICO_LIST_FILTER(folder) &folder::registration(),
  static const FilterRegistration* const kRegistered[] = {PORTICO_FILTERS(PORTICO_LIST_FILTER)};
#undef PORTICO_LIST_FILTER
  return kRegistered;
}

}  // namespace portico::filters
