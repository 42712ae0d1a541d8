#include "filters/headers/header_rules_filter.h"

namespace portico::filters {

void applyHeaderRules(const proxy::HeaderRules& rules, http::HeaderMap& headers) {
  for (const std::string& name : rules.remove) headers.remove(name);
  for (const auto& [name, value] : rules.set) headers.set(name, value);
  for (const auto& [name, value] : rules.add) headers.add(name, value);
}

proxy::FilterStatus HeaderRulesFilter::onRequestHeaders(http::RequestHead& head, bool) {
  if (!request_.empty()) applyHeaderRules(request_, head.headers);
  return proxy::FilterStatus::Continue;
}

proxy::FilterStatus HeaderRulesFilter::onResponseHeaders(http::ResponseHead& head, bool) {
  if (!response_.empty()) applyHeaderRules(response_, head.headers);
  return proxy::FilterStatus::Continue;
}

}  // namespace portico::filters
