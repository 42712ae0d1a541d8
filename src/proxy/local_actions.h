#pragma once
// Terminal filters that answer without a backend: a fixed direct response and a redirect.

#include "filters/filter.h"
#include "proxy/route_config.h"

namespace portico::proxy {

class DirectResponseFilter final : public filters::Filter {
 public:
  explicit DirectResponseFilter(const DirectResponseAction& action) : action_(action) {}
  filters::FilterStatus onRequestHeaders(http::RequestHead& head, bool end_stream) override;

 private:
  const DirectResponseAction& action_;
};

class RedirectFilter final : public filters::Filter {
 public:
  RedirectFilter(const RedirectAction& action, const RouteMatch& match)
      : action_(action), match_(match) {}
  filters::FilterStatus onRequestHeaders(http::RequestHead& head, bool end_stream) override;

 private:
  const RedirectAction& action_;
  const RouteMatch& match_;
};

// The Location a redirect sends for `request` (exposed for tests).
std::string redirectLocation(const RedirectAction& action, const RouteMatch& match,
                             const http::RequestHead& request);

}  // namespace portico::proxy
