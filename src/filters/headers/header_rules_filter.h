#pragma once
// Per-route header rules: add, set and remove fields on the request before it is proxied and
// on the response before it is sent to the client. Order within a rule set: remove, set, add,
// so "remove X, add X: v" leaves exactly one X.

#include "proxy/filter.h"
#include "proxy/route_config.h"

namespace portico::filters {

void applyHeaderRules(const proxy::HeaderRules& rules, http::HeaderMap& headers);

class HeaderRulesFilter final : public proxy::Filter {
 public:
  HeaderRulesFilter(const proxy::HeaderRules& request, const proxy::HeaderRules& response)
      : request_(request), response_(response) {}
  proxy::FilterStatus onRequestHeaders(http::RequestHead& head, bool end_stream) override;
  proxy::FilterStatus onResponseHeaders(http::ResponseHead& head, bool end_stream) override;

 private:
  const proxy::HeaderRules& request_;
  const proxy::HeaderRules& response_;
};

class HeaderRulesFilterFactory final : public proxy::FilterFactory {
 public:
  HeaderRulesFilterFactory(const proxy::HeaderRules& request, const proxy::HeaderRules& response)
      : request_(request), response_(response) {}
  proxy::Filter* create(std::pmr::memory_resource& arena) const override {
    return proxy::arenaNew<HeaderRulesFilter>(arena, request_, response_);
  }

 private:
  const proxy::HeaderRules& request_;
  const proxy::HeaderRules& response_;
};

}  // namespace portico::filters
