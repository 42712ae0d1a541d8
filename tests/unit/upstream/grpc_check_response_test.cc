#include "upstream/grpc_check_response.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::upstream {
namespace {

using Verdict = GrpcCheckResponse::Verdict;

std::string framed(std::string message) {
  std::string out(5, '\0');
  out[4] = static_cast<char>(message.size());
  return out + message;
}

// Headers (200), one data frame with `message`, trailers with `grpc_status`.
Verdict call(const std::string& message, const std::string& grpc_status, std::string* why) {
  GrpcCheckResponse r;
  http::ResponseHead head;
  head.status = 200;
  head.headers.add("content-type", "application/grpc");
  r.decodeHeaders(head, false);
  buffer::Buffer data;
  data.append(message);
  r.decodeData(data, false);
  http::HeaderMap trailers;
  trailers.add("grpc-status", grpc_status);
  r.decodeTrailers(trailers);
  *why = r.reason();
  return r.verdict();
}

TEST(GrpcCheckResponseTest, RequestCarriesTheService) {
  EXPECT_EQ(grpcHealthCheckRequest(""), std::string("\0\0\0\0\0", 5));
  EXPECT_EQ(grpcHealthCheckRequest("api.v1.Users"),
            std::string("\0\0\0\0\x0e\x0a\x0c", 7) + "api.v1.Users");
}

TEST(GrpcCheckResponseTest, ServingIsHealthy) {
  std::string why;
  EXPECT_EQ(call(framed("\x08\x01"), "0", &why), Verdict::Healthy);
}

TEST(GrpcCheckResponseTest, OtherServingStatusesAreNot) {
  std::string why;
  EXPECT_EQ(call(framed("\x08\x02"), "0", &why), Verdict::Unhealthy);
  EXPECT_EQ(why, "serving status NOT_SERVING");
  EXPECT_EQ(call(framed(""), "0", &why), Verdict::Unhealthy);  // status omitted: UNKNOWN
  EXPECT_EQ(why, "serving status UNKNOWN");
}

TEST(GrpcCheckResponseTest, UnknownFieldsAreSkipped) {
  std::string why;
  // field 2 (string "x"), then status SERVING.
  EXPECT_EQ(call(framed(std::string("\x12\x01x\x08\x01", 5)), "0", &why), Verdict::Healthy);
}

TEST(GrpcCheckResponseTest, ErrorStatusesAndMalformedMessages) {
  std::string why;
  EXPECT_EQ(call(framed("\x08\x01"), "5", &why), Verdict::Unhealthy);
  EXPECT_EQ(why, "grpc-status 5");
  EXPECT_EQ(call("\x00\x00", "0", &why), Verdict::Unhealthy);  // a cut prefix
  EXPECT_EQ(why, "no valid HealthCheckResponse");
  EXPECT_EQ(call(framed("\x08"), "0", &why), Verdict::Unhealthy);  // a cut varint
}

TEST(GrpcCheckResponseTest, TrailersOnlyAndHttpErrors) {
  GrpcCheckResponse unimplemented;
  http::ResponseHead head;
  head.status = 200;
  head.headers.add("grpc-status", "12");
  unimplemented.decodeHeaders(head, true);
  EXPECT_EQ(unimplemented.verdict(), Verdict::Unhealthy);
  EXPECT_EQ(unimplemented.reason(), "grpc-status 12");

  GrpcCheckResponse not_found;
  http::ResponseHead h404;
  h404.status = 404;
  not_found.decodeHeaders(h404, true);
  EXPECT_EQ(not_found.reason(), "status 404");
}

TEST(GrpcCheckResponseTest, MessageIsBounded) {
  GrpcCheckResponse r;
  http::ResponseHead head;
  head.status = 200;
  r.decodeHeaders(head, false);
  buffer::Buffer data;
  data.append(std::string(kGrpcCheckMessageLimit + 1, 'x'));
  r.decodeData(data, false);
  EXPECT_EQ(r.verdict(), Verdict::Unhealthy);
  EXPECT_TRUE(data.empty());
}

}  // namespace
}  // namespace portico::upstream
