// The fault filter's route key, through the real config loader: what a valid `fault:` becomes,
// and the exact file:line:col of each mistake.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "filters/fault/fault_filter.h"

namespace portico::filters::fault {
namespace {

using config::LoadResult;

// Lines 1-8 up to the route; a test appends the route's `fault:` (line 9 onwards).
const std::string kRoute = R"(clusters:
  - name: demo
    endpoints: [{address: 127.0.0.1:8081}]
listeners:
  - name: public
    address: 127.0.0.1:8080
    virtual_hosts:
      - {name: default, domains: ["*"], routes: [{proxy: {cluster: demo},)";

LoadResult load(const std::string& fault) {
  return config::loadConfigString(kRoute + "\n    fault: " + fault + "}]}", "test.yaml");
}

const FaultConfig* faultConfig(const LoadResult& r) {
  if (!r.config) return nullptr;
  const auto& route = r.config->listeners.at(0).virtual_hosts.at(0).routes.at(0);
  for (const auto& factory : route.filters) {
    if (auto* f = dynamic_cast<const FaultFilterFactory*>(factory.get())) return &f->config();
  }
  return nullptr;
}

std::string errors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.toString() + "\n";
  return out;
}

uint8_t bits(std::initializer_list<FaultPhase> phases) {
  uint8_t out = 0;
  for (FaultPhase p : phases) out |= phaseBit(p);
  return out;
}

TEST(FaultConfigTest, EveryKey) {
  LoadResult r = load(R"({delay: {duration: 1m30s, percent: 25,
      phases: [request_headers, request_body, request_trailers, response_headers, response_body,
               response_trailers]},
    abort: {status: 503, percent: 10, body: "fault injected"}, allow_header_override: true})");
  const FaultConfig* c = faultConfig(r);
  ASSERT_NE(c, nullptr) << errors(r);
  ASSERT_TRUE(c->delay.has_value());
  EXPECT_EQ(c->delay->duration_ms, 90'000);
  EXPECT_EQ(c->delay->percent, 25u);
  EXPECT_EQ(c->delay->phases, 0x3f);
  ASSERT_TRUE(c->abort.has_value());
  EXPECT_EQ(c->abort->status, 503);
  EXPECT_EQ(c->abort->percent, 10u);
  EXPECT_EQ(c->abort->body, "fault injected");
  EXPECT_TRUE(c->allow_header_override);
}

TEST(FaultConfigTest, Defaults) {
  LoadResult r = load("{delay: {duration: 50ms}}");
  const FaultConfig* c = faultConfig(r);
  ASSERT_NE(c, nullptr) << errors(r);
  ASSERT_TRUE(c->delay.has_value());
  EXPECT_EQ(c->delay->duration_ms, 50);
  EXPECT_EQ(c->delay->percent, 100u);
  EXPECT_EQ(c->delay->phases, bits({FaultPhase::RequestHeaders}));
  EXPECT_FALSE(c->abort.has_value());
  EXPECT_FALSE(c->allow_header_override);

  r = load("{abort: {status: 429}}");
  c = faultConfig(r);
  ASSERT_NE(c, nullptr) << errors(r);
  EXPECT_FALSE(c->delay.has_value());
  EXPECT_EQ(c->abort->status, 429);
  EXPECT_EQ(c->abort->percent, 100u);
  EXPECT_EQ(c->abort->body, "");
}

TEST(FaultConfigTest, HeaderOverrideAlone) {
  LoadResult r = load("{allow_header_override: true}");
  const FaultConfig* c = faultConfig(r);
  ASSERT_NE(c, nullptr) << errors(r);
  EXPECT_FALSE(c->delay || c->abort);
}

TEST(FaultConfigTest, SitsFirstInTheChain) {
  // Nearest the client: its answers skip the route's other filters (the header rules here).
  LoadResult r = config::loadConfigString(
      kRoute + "\n    response_headers: {set: {X-A: b}}, fault: {abort: {status: 503}}}]}",
      "test.yaml");
  ASSERT_TRUE(r.config) << errors(r);
  const auto& filters = r.config->listeners.at(0).virtual_hosts.at(0).routes.at(0).filters;
  ASSERT_EQ(filters.size(), 2u);
  EXPECT_NE(dynamic_cast<const FaultFilterFactory*>(filters[0].get()), nullptr);
}

// Line 9 is "    fault: <fault>": the fault text starts at column 12.
constexpr size_t kFaultColumn = 12;
const std::string kKey = "listeners[0].virtual_hosts[0].routes[0].fault";

// Exactly one error: at the first occurrence of `at` in `fault`, about kKey + `key`, with a
// message starting with `message`.
void expectOneError(const std::string& fault, const std::string& at, const std::string& key,
                    const std::string& message) {
  LoadResult r = load(fault);
  EXPECT_FALSE(r.config.has_value()) << fault;
  ASSERT_EQ(r.errors.size(), 1u) << fault << "\n" << errors(r);
  ASSERT_NE(fault.find(at), std::string::npos) << at;
  const std::string prefix = "test.yaml:9:" + std::to_string(kFaultColumn + fault.find(at)) + ": " +
                             kKey + key + ": " + message;
  EXPECT_EQ(r.errors[0].toString().rfind(prefix, 0), 0u)
      << "got:      " << r.errors[0].toString() << "\nexpected: " << prefix;
}

TEST(FaultConfigTest, BadValuesPointAtTheirPlace) {
  expectOneError("{delay: {duration: 0ms}}", "0ms", ".delay.duration",
                 "must be between 1ms and 1h, got 0");
  expectOneError("{delay: {duration: soon}}", "soon", ".delay.duration", "expected a duration");
  expectOneError("{delay: {duration: 2h}}", "2h", ".delay.duration", "must be between 1ms");
  expectOneError("{delay: {percent: 5}}", "{percent", ".delay.duration", "missing required key");
  expectOneError("{delay: {duration: 1s, percent: 101}}", "101", ".delay.percent",
                 "must be between 0 and 100, got 101");
  expectOneError("{delay: {duration: 1s, phases: [request_body, upstream]}}", "upstream",
                 ".delay.phases[1]", "expected one of: request_headers, request_body");
  expectOneError("{delay: {duration: 1s, phases: [response_body, response_body]}}",
                 "response_body]", ".delay.phases[1]", "phase listed twice");
  expectOneError("{delay: {duration: 1s, phases: []}}", "[]", ".delay.phases", "");
  expectOneError("{abort: {status: 103}}", "103", ".abort.status",
                 "must be between 200 and 599, got 103");
  expectOneError("{abort: {status: 503, percent: -1}}", "-1", ".abort.percent",
                 "must be between 0 and 100, got -1");
  expectOneError("{abort: {percent: 5}}", "{percent", ".abort.status", "missing required key");
  expectOneError("{abort: {status: 503}, slow: true}", "slow", ".slow",
                 "unknown key; expected one of: delay, abort, allow_header_override");
  expectOneError("{allow_header_override: yes}", "yes", ".allow_header_override",
                 "expected true or false");
  expectOneError("{}", "{}", "", "expected delay, abort or allow_header_override");
  expectOneError("[delay]", "[delay]", "", "expected a mapping");
}

TEST(FaultConfigTest, RollPercentHonoursTheShare) {
  int hits = 0;
  for (int i = 0; i < 10'000; ++i) {
    EXPECT_FALSE(rollPercent(0));
    EXPECT_TRUE(rollPercent(100));
    hits += rollPercent(30) ? 1 : 0;
  }
  // 30% of 10,000 with a standard deviation of ~46: far outside this only when it is wrong.
  EXPECT_GT(hits, 2'500);
  EXPECT_LT(hits, 3'500);
}

}  // namespace
}  // namespace portico::filters::fault
