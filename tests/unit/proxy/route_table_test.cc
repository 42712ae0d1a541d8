#include "proxy/route_table.h"

#include <gtest/gtest.h>

namespace portico::proxy {
namespace {

RouteConfig route(std::string name, PathMatchKind kind, std::string path) {
  RouteConfig r;
  r.name = std::move(name);
  r.match.kind = kind;
  r.match.path = std::move(path);
  if (kind == PathMatchKind::Regex) r.match.regex = std::make_shared<re2::RE2>(r.match.path);
  return r;
}

http::RequestHead request(std::string host, std::string path, std::string method = "GET") {
  http::RequestHead h;
  h.authority = std::move(host);
  h.path = std::move(path);
  h.method_text = std::move(method);
  h.method = http::parseMethod(h.method_text);
  return h;
}

class RouteTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VirtualHostConfig api;
    api.name = "api";
    api.domains = {"api.example.com"};
    api.routes.push_back(route("api-exact", PathMatchKind::Exact, "/health"));
    api.routes.push_back(route("api-v", PathMatchKind::Regex, "/v[0-9]+/.*"));
    RouteConfig post_only = route("api-post", PathMatchKind::Prefix, "/");
    post_only.match.methods = {"POST"};
    api.routes.push_back(post_only);
    RouteConfig header = route("api-header", PathMatchKind::Prefix, "/");
    ValueMatch vm;
    vm.name = "X-Env";
    vm.exact = "canary";
    header.match.headers.push_back(vm);
    api.routes.push_back(header);
    RouteConfig query = route("api-query", PathMatchKind::Prefix, "/");
    ValueMatch q;
    q.name = "debug";
    q.present_only = true;
    query.match.query.push_back(q);
    api.routes.push_back(query);
    api.routes.push_back(route("api-rest", PathMatchKind::Prefix, "/"));

    VirtualHostConfig wild;
    wild.name = "wild";
    wild.domains = {"*.example.com"};
    wild.routes.push_back(route("wild-any", PathMatchKind::Any, ""));

    VirtualHostConfig fallback;
    fallback.name = "default";
    fallback.domains = {"*"};
    fallback.routes.push_back(route("default-static", PathMatchKind::Prefix, "/static/"));

    config_.virtual_hosts = {api, wild, fallback};
    table_ = std::make_unique<RouteTable>(config_, std::unordered_map<std::string, int>{});
  }

  std::string match(http::RequestHead h) {
    const RouteEntry* r = table_->match(h);
    return r ? r->config->name : "none";
  }

  ListenerConfig config_;
  std::unique_ptr<RouteTable> table_;
};

TEST_F(RouteTableTest, VirtualHostsExactWildcardDefault) {
  EXPECT_EQ(match(request("api.example.com", "/health")), "api-exact");
  EXPECT_EQ(match(request("API.Example.com:8080", "/health")), "api-exact");
  EXPECT_EQ(match(request("www.example.com", "/anything")), "wild-any");
  EXPECT_EQ(match(request("a.b.example.com", "/")), "wild-any");
  EXPECT_EQ(match(request("example.com", "/static/x")), "default-static");
  EXPECT_EQ(match(request("other.org", "/nope")), "none");
}

TEST_F(RouteTableTest, RoutesMatchInConfigOrder) {
  EXPECT_EQ(match(request("api.example.com", "/v2/users")), "api-v");
  EXPECT_EQ(match(request("api.example.com", "/v2x")), "api-rest");  // regex is a full match
  EXPECT_EQ(match(request("api.example.com", "/x", "POST")), "api-post");
  auto h = request("api.example.com", "/x");
  h.headers.add("x-env", "canary");
  EXPECT_EQ(match(h), "api-header");
  auto q = request("api.example.com", "/x");
  q.query = "a=1&debug";
  EXPECT_EQ(match(q), "api-query");
  EXPECT_EQ(match(request("api.example.com", "/x")), "api-rest");
}

TEST(QueryParamTest, FindsParameters) {
  EXPECT_EQ(*queryParam("a=1&b=2", "b"), "2");
  EXPECT_EQ(*queryParam("flag&x=y", "flag"), "");
  EXPECT_FALSE(queryParam("ab=1", "a").has_value());
}

}  // namespace
}  // namespace portico::proxy
