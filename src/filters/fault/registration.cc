// The fault filter's registration: the route key `fault`.
#include "filters/fault/fault_filter.h"
#include "filters/registry.h"
#include "yaml/reader.h"

namespace portico::filters::fault {
namespace {

constexpr std::string_view kKeys[] = {"fault"};

const yaml::EnumNames<FaultPhase> kPhaseNames = {
    {"request_headers", FaultPhase::RequestHeaders},
    {"request_body", FaultPhase::RequestBody},
    {"request_trailers", FaultPhase::RequestTrailers},
    {"response_headers", FaultPhase::ResponseHeaders},
    {"response_body", FaultPhase::ResponseBody},
    {"response_trailers", FaultPhase::ResponseTrailers},
};

std::optional<FaultDelay> readDelay(yaml::Reader& reader, const yaml::Field& field) {
  yaml::MapReader map(reader, field, {"duration", "phases", "percent"});
  if (!map.valid()) return std::nullopt;
  FaultDelay delay;
  const size_t errors = reader.errorCount();
  // At least 1ms: a resume from a 0ms timer on every body chunk would spin the worker.
  if (const yaml::Field* f = map.require("duration")) {
    yaml::assignIf(&delay.duration_ms, yaml::readDurationMs(reader, *f, 1, kMaxDelayMs));
  }
  if (const yaml::Field* f = map.find("phases")) {
    delay.phases = 0;
    for (const yaml::Field& item : yaml::itemsOf(reader, *f, true)) {
      std::optional<FaultPhase> phase = yaml::readEnum(reader, item, kPhaseNames);
      if (!phase) continue;
      const uint8_t bit = phaseBit(*phase);
      if ((delay.phases & bit) != 0) {
        reader.error(item.mark, item.path, "phase listed twice");
        continue;
      }
      delay.phases |= bit;
    }
  }
  if (const yaml::Field* f = map.find("percent")) {
    yaml::assignIf(&delay.percent, yaml::readInt(reader, *f, 0, 100));
  }
  if (reader.errorCount() != errors) return std::nullopt;
  return delay;
}

std::optional<FaultAbort> readAbort(yaml::Reader& reader, const yaml::Field& field) {
  yaml::MapReader map(reader, field, {"status", "percent", "body"});
  if (!map.valid()) return std::nullopt;
  FaultAbort abort;
  const size_t errors = reader.errorCount();
  // A final status: 1xx cannot end an exchange.
  if (const yaml::Field* f = map.require("status")) {
    yaml::assignIf(&abort.status, yaml::readInt(reader, *f, 200, 599));
  }
  if (const yaml::Field* f = map.find("percent")) {
    yaml::assignIf(&abort.percent, yaml::readInt(reader, *f, 0, 100));
  }
  if (const yaml::Field* f = map.find("body")) {
    yaml::assignIf(&abort.body, yaml::readString(reader, *f));
  }
  if (reader.errorCount() != errors) return std::nullopt;
  return abort;
}

std::shared_ptr<const FilterFactory> parse(yaml::Reader& reader,
                                           std::span<const yaml::Field* const> fields) {
  const yaml::Field& field = *fields[0];
  yaml::MapReader map(reader, field, {"delay", "abort", "allow_header_override"});
  if (!map.valid()) return nullptr;
  FaultConfig config;
  const size_t errors = reader.errorCount();
  if (const yaml::Field* f = map.find("delay")) config.delay = readDelay(reader, *f);
  if (const yaml::Field* f = map.find("abort")) config.abort = readAbort(reader, *f);
  if (const yaml::Field* f = map.find("allow_header_override")) {
    yaml::assignIf(&config.allow_header_override, yaml::readBool(reader, *f));
  }
  if (reader.errorCount() != errors) return nullptr;
  if (!config.delay && !config.abort && !config.allow_header_override) {
    reader.error(field.mark, field.path,
                 "expected delay, abort or allow_header_override: true (a fault that does "
                 "nothing is a mistake)");
    return nullptr;
  }
  return std::make_shared<const FaultFilterFactory>(std::move(config));
}

}  // namespace

const FilterRegistration& registration() {
  static const FilterRegistration kRegistration{"fault", kKeys, &parse};
  return kRegistration;
}

}  // namespace portico::filters::fault
