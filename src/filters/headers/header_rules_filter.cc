#include "filters/headers/header_rules_filter.h"

namespace portico::filters::headers {

void applyHeaderRules(const HeaderRules& rules, http::HeaderMap& headers) {
  for (const std::string& name : rules.remove) headers.remove(name);
  for (const auto& [name, value] : rules.set) headers.set(name, value);
  for (const auto& [name, value] : rules.add) headers.add(name, value);
}

FilterStatus HeaderRulesFilter::onRequestHeaders(http::RequestHead& head, bool) {
  if (!config_.request.empty()) applyHeaderRules(config_.request, head.headers);
  return FilterStatus::Continue;
}

FilterStatus HeaderRulesFilter::onResponseHeaders(http::ResponseHead& head, bool) {
  if (!config_.response.empty()) applyHeaderRules(config_.response, head.headers);
  return FilterStatus::Continue;
}

}  // namespace portico::filters::headers
