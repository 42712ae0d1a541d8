// The header rules' registration: the route keys request_headers and response_headers.
#include "filters/headers/header_rules_filter.h"
#include "filters/registry.h"
#include "yaml/fields.h"

namespace portico::filters::headers {
namespace {

constexpr std::string_view kKeys[] = {"request_headers", "response_headers"};

void readRules(yaml::Reader& reader, const yaml::Field& field, HeaderRules* rules) {
  yaml::MapReader map(reader, field, {"add", "set", "remove"});
  if (!map.valid()) return;
  if (const yaml::Field* f = map.find("add")) rules->add = yaml::readHeaderMap(reader, *f);
  if (const yaml::Field* f = map.find("set")) rules->set = yaml::readHeaderMap(reader, *f);
  if (const yaml::Field* f = map.find("remove")) {
    for (const yaml::Field& item : yaml::itemsOf(reader, *f, false)) {
      std::optional<std::string> name = yaml::readEditableHeaderName(reader, item);
      if (name) rules->remove.push_back(std::move(*name));
    }
  }
}

std::shared_ptr<const FilterFactory> parse(yaml::Reader& reader,
                                           std::span<const yaml::Field* const> fields) {
  HeaderRulesConfig config;
  size_t errors = reader.errorCount();
  if (fields[0] != nullptr) readRules(reader, *fields[0], &config.request);
  if (fields[1] != nullptr) readRules(reader, *fields[1], &config.response);
  if (reader.errorCount() != errors) return nullptr;
  if (config.request.empty() && config.response.empty()) return nullptr;  // nothing to do
  return std::make_shared<const HeaderRulesFilterFactory>(std::move(config));
}

}  // namespace

const FilterRegistration& registration() {
  static const FilterRegistration kRegistration{"headers", kKeys, &parse};
  return kRegistration;
}

}  // namespace portico::filters::headers
