// A cluster's `retry:`, `circuit_breakers:` and `outlier_detection:` sections
// (upstream/retry_policy.h, upstream/circuit_breakers.h, upstream/outlier_detection.h).
#include <algorithm>

#include "config/sections.h"

namespace portico::config::internal {

namespace {

// `on:` items: a condition name, or a status code 500..599 to retry on.
void loadRetryOn(Reader& reader, const Field& field, upstream::RetryPolicy* policy) {
  policy->on = 0;
  policy->statuses.clear();
  for (const Field& item : itemsOf(reader, field, /*non_empty=*/false)) {
    const std::string text = item.node.IsScalar() ? item.node.Scalar() : std::string();
    if (!text.empty() && std::all_of(text.begin(), text.end(), ::isdigit)) {
      std::optional<int64_t> status = readInt(reader, item, 500, 599);
      if (status) {
        policy->on |= upstream::kRetryStatus;
        policy->statuses.push_back(static_cast<uint16_t>(*status));
      }
      continue;
    }
    std::optional<uint32_t> bit =
        readEnum<uint32_t>(reader, item,
                           {{"connect-failure", upstream::kRetryConnectFailure},
                            {"refused-stream", upstream::kRetryRefusedStream},
                            {"reset", upstream::kRetryReset},
                            {"timeout", upstream::kRetryTimeout}});
    if (bit) policy->on |= *bit;
  }
}

void loadBackoff(Reader& reader, const Field& field, upstream::RetryPolicy* policy) {
  MapReader map(reader, field, {"base", "max"});
  if (!map.valid()) return;
  if (const Field* f = map.find("base")) {
    assignIf(&policy->backoff_base_ms, readDurationMs(reader, *f, 0, 60000));
  }
  if (const Field* f = map.find("max")) {
    assignIf(&policy->backoff_max_ms, readDurationMs(reader, *f, 0, 600000));
  }
  if (policy->backoff_max_ms < policy->backoff_base_ms) {
    reader.error(field.mark, field.path, "backoff.max must not be below backoff.base");
  }
}

void loadBudget(Reader& reader, const Field& field, upstream::RetryPolicy* policy) {
  MapReader map(reader, field, {"percent", "min_concurrency"});
  if (!map.valid()) return;
  if (const Field* f = map.find("percent")) {
    assignIf(&policy->budget_percent, readInt(reader, *f, 0, 100));
  }
  if (const Field* f = map.find("min_concurrency")) {
    assignIf(&policy->budget_min_concurrency, readInt(reader, *f, 0, 100000));
  }
}

}  // namespace

void loadRetry(Reader& reader, const Field& field, upstream::RetryPolicy* policy) {
  MapReader map(reader, field, {"on", "non_idempotent", "per_try_timeout", "backoff", "budget"});
  if (!map.valid()) return;
  if (const Field* f = map.find("on")) loadRetryOn(reader, *f, policy);
  if (const Field* f = map.find("non_idempotent")) {
    assignIf(&policy->non_idempotent, readBool(reader, *f));
  }
  if (const Field* f = map.find("per_try_timeout")) {
    assignIf(&policy->per_try_timeout_ms, readDurationMs(reader, *f, 1, kOneDayMs));
  }
  if (const Field* f = map.find("backoff")) loadBackoff(reader, *f, policy);
  if (const Field* f = map.find("budget")) loadBudget(reader, *f, policy);
}

void loadCircuitBreakers(Reader& reader, const Field& field, upstream::CircuitBreakerLimits* out) {
  MapReader map(reader, field,
                {"max_connections", "max_pending_requests", "max_requests", "max_retries"});
  if (!map.valid()) return;
  auto limit = [&](std::string_view key, uint32_t* value) {
    if (const Field* f = map.find(key)) assignIf(value, readInt(reader, *f, 0, 10000000));
  };
  limit("max_connections", &out->max_connections);
  limit("max_pending_requests", &out->max_pending_requests);
  limit("max_requests", &out->max_requests);
  limit("max_retries", &out->max_retries);
}

void loadOutlierDetection(Reader& reader, const Field& field,
                          upstream::OutlierDetectionConfig* out) {
  MapReader map(reader, field,
                {"consecutive_5xx", "consecutive_gateway_errors", "consecutive_connect_failures",
                 "base_ejection_time", "max_ejection_time", "max_ejection_percent"});
  if (!map.valid()) return;
  out->enabled = true;
  auto streak = [&](std::string_view key, uint32_t* value) {
    if (const Field* f = map.find(key)) assignIf(value, readInt(reader, *f, 0, 1000));
  };
  streak("consecutive_5xx", &out->consecutive_5xx);
  streak("consecutive_gateway_errors", &out->consecutive_gateway_errors);
  streak("consecutive_connect_failures", &out->consecutive_connect_failures);
  if (const Field* f = map.find("base_ejection_time")) {
    assignIf(&out->base_ejection_ms, readDurationMs(reader, *f, 1, kOneDayMs));
  }
  if (const Field* f = map.find("max_ejection_time")) {
    assignIf(&out->max_ejection_ms, readDurationMs(reader, *f, 1, kOneDayMs));
  }
  if (const Field* f = map.find("max_ejection_percent")) {
    assignIf(&out->max_ejection_percent, readInt(reader, *f, 0, 100));
  }
  if (out->max_ejection_ms < out->base_ejection_ms) {
    reader.error(field.mark, field.path, "max_ejection_time must not be below base_ejection_time");
  }
}

}  // namespace portico::config::internal
