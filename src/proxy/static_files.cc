#include "proxy/static_files.h"

#include "proxy/local_actions.h"

namespace portico::proxy {

namespace {
// Placeholder until the static file server lands: answers 501 so the route is visible as
// unfinished rather than silently wrong.
class NotYetStaticFilter final : public Filter {
 public:
  FilterStatus onRequestHeaders(http::RequestHead&, bool) override {
    callbacks_->sendLocalReply(501, {}, "text/plain");
    return FilterStatus::Respond;
  }
};
}  // namespace

Filter* makeStaticFilesFilter(std::pmr::memory_resource& arena, const StaticAction&,
                              const RouteMatch&) {
  return arenaNew<NotYetStaticFilter>(arena);
}

}  // namespace portico::proxy
