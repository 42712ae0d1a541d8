#pragma once
// Per-route header rules: add, set and remove fields on the request before it goes on and on
// the response before it reaches the client. Order within a rule set: remove, set, add, so
// "remove X, add X: v" leaves exactly one X.
//
// Route keys: request_headers, response_headers (docs/configuration.md).

#include <string>
#include <utility>
#include <vector>

#include "filters/filter.h"

namespace portico::filters::headers {

struct HeaderRules {
  std::vector<std::pair<std::string, std::string>> add;  // appended, keeps existing
  std::vector<std::pair<std::string, std::string>> set;  // replaces all of that name
  std::vector<std::string> remove;
  bool empty() const { return add.empty() && set.empty() && remove.empty(); }
};

struct HeaderRulesConfig {
  HeaderRules request;
  HeaderRules response;
};

void applyHeaderRules(const HeaderRules& rules, http::HeaderMap& headers);

class HeaderRulesFilter final : public Filter {
 public:
  explicit HeaderRulesFilter(const HeaderRulesConfig& config) : config_(config) {}
  FilterStatus onRequestHeaders(http::RequestHead& head, bool end_stream) override;
  FilterStatus onResponseHeaders(http::ResponseHead& head, bool end_stream) override;

 private:
  const HeaderRulesConfig& config_;
};

class HeaderRulesFilterFactory final : public FilterFactory {
 public:
  explicit HeaderRulesFilterFactory(HeaderRulesConfig config) : config_(std::move(config)) {}
  Filter* create(std::pmr::memory_resource& arena) const override {
    return arenaNew<HeaderRulesFilter>(arena, config_);
  }
  const HeaderRulesConfig& config() const { return config_; }

 private:
  HeaderRulesConfig config_;
};

}  // namespace portico::filters::headers
