#include "http/grpc_local_reply.h"

#include <gtest/gtest.h>

namespace portico::http {
namespace {

TEST(GrpcLocalReplyTest, RecognisesGrpcContentTypes) {
  EXPECT_TRUE(isGrpcContentType("application/grpc"));
  EXPECT_TRUE(isGrpcContentType("application/grpc+proto"));
  EXPECT_TRUE(isGrpcContentType("Application/GRPC+json"));
  EXPECT_TRUE(isGrpcContentType("application/grpc; charset=utf-8"));
  EXPECT_TRUE(isGrpcContentType("application/grpc-web+proto"));
  EXPECT_FALSE(isGrpcContentType("application/grpcx"));
  EXPECT_FALSE(isGrpcContentType("application/json"));
  EXPECT_FALSE(isGrpcContentType("application/grp"));
  EXPECT_FALSE(isGrpcContentType(""));
  HeaderMap h;
  EXPECT_FALSE(isGrpcRequest(h));
  h.add("content-type", "application/grpc");
  EXPECT_TRUE(isGrpcRequest(h));
}

TEST(GrpcLocalReplyTest, MapsHttpStatusesAsTheGrpcTableSays) {
  EXPECT_EQ(grpcStatusForHttp(400), GrpcStatus::Internal);
  EXPECT_EQ(grpcStatusForHttp(401), GrpcStatus::Unauthenticated);
  EXPECT_EQ(grpcStatusForHttp(403), GrpcStatus::PermissionDenied);
  EXPECT_EQ(grpcStatusForHttp(404), GrpcStatus::Unimplemented);
  EXPECT_EQ(grpcStatusForHttp(429), GrpcStatus::Unavailable);
  EXPECT_EQ(grpcStatusForHttp(502), GrpcStatus::Unavailable);
  EXPECT_EQ(grpcStatusForHttp(503), GrpcStatus::Unavailable);
  EXPECT_EQ(grpcStatusForHttp(504), GrpcStatus::Unavailable);
  EXPECT_EQ(grpcStatusForHttp(405), GrpcStatus::Unknown);
  EXPECT_EQ(grpcStatusForHttp(500), GrpcStatus::Unknown);
  EXPECT_EQ(grpcStatusForHttp(421), GrpcStatus::Unknown);
}

TEST(GrpcLocalReplyTest, PercentEncodesOutsidePrintableAsciiAndPercent) {
  EXPECT_EQ(percentEncodeGrpcMessage("no route"), "no route");
  EXPECT_EQ(percentEncodeGrpcMessage("100% down"), "100%25 down");
  EXPECT_EQ(percentEncodeGrpcMessage("a\r\nb"), "a%0D%0Ab");
  EXPECT_EQ(percentEncodeGrpcMessage("caf\xC3\xA9"), "caf%C3%A9");
  EXPECT_EQ(percentEncodeGrpcMessage(std::string_view("\0~\x7F", 3)), "%00~%7F");
}

TEST(GrpcLocalReplyTest, BuildsATrailersOnlyHead) {
  ResponseHead head;
  head.status = 503;
  head.headers.add("Content-Type", "text/html");
  makeGrpcLocalReply(503, {}, "application/grpc+proto", head);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers.count("Content-Type"), 1u);
  EXPECT_EQ(*head.headers.get("content-type"), "application/grpc");
  EXPECT_EQ(*head.headers.get("grpc-status"), "14");
  EXPECT_EQ(*head.headers.get("grpc-message"), "503 Service Unavailable");
  EXPECT_FALSE(head.headers.has("Content-Length"));

  ResponseHead web;
  makeGrpcLocalReply(404, "no such method: 100%", "application/grpc-web-text", web);
  EXPECT_EQ(*web.headers.get("content-type"), "application/grpc-web");
  EXPECT_EQ(*web.headers.get("grpc-status"), "12");
  EXPECT_EQ(*web.headers.get("grpc-message"), "no such method: 100%25");
}

}  // namespace
}  // namespace portico::http
