#include "http/accept_encoding.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace portico::http {
namespace {

using enum ContentCoding;

constexpr std::array<ContentCoding, 3> kZstdBrGzip{Zstd, Brotli, Gzip};

struct Case {
  const char* accept_encoding;
  ContentCoding expected;
};

// Server preference [zstd, br, gzip] throughout.
constexpr Case kCases[] = {
    // The field absent or empty: the client did not ask.
    {"", Identity},
    {"   ", Identity},
    {",, ,", Identity},
    // Plain lists: server preference breaks the tie at q=1.
    {"gzip", Gzip},
    {"gzip, br", Brotli},
    {"gzip, deflate, br, zstd", Zstd},
    {"br;q=1.0, gzip;q=1", Brotli},
    // q-values rank before preference.
    {"gzip;q=1, br;q=0.5", Gzip},
    {"zstd;q=0.1, br;q=0.2, gzip;q=0.3", Gzip},
    {"zstd;q=0.001, gzip;q=0.002", Gzip},
    {"br;q=0.5, gzip;q=0.500", Brotli},
    // "*" and its interplay with explicit entries.
    {"*", Zstd},
    {"br;q=0, *", Zstd},
    {"zstd;q=0, *", Brotli},
    {"zstd;q=0, br;q=0, *;q=0.5", Gzip},
    {"*;q=0", Identity},
    {"*;q=0.5, gzip", Gzip},
    // Identity: explicit, excluded, ranked.
    {"identity", Identity},
    {"identity;q=0", Identity},
    {"identity, gzip;q=0.5", Identity},
    {"identity;q=0.5, gzip;q=0.8", Gzip},
    {"identity;q=0.5, gzip;q=0.5", Gzip},
    {"*, identity;q=0.9", Zstd},
    // Refusals.
    {"gzip;q=0", Identity},
    {"gzip;q=0.000, br;q=0", Identity},
    {"compress, deflate", Identity},
    // Names are case-insensitive; x-gzip is gzip.
    {"GZIP", Gzip},
    {"Br, gZip", Brotli},
    {"x-gzip", Gzip},
    {"ZSTD;Q=0.9, gzip;q=0.8", Zstd},
    // Whitespace tolerance.
    {"  gzip ;  q=0.5 ,\tbr ; q = 0.4 ", Gzip},
    {"gzip;q=0.5,br;q=0.6", Brotli},
    // Malformed members are ignored, the rest still counts.
    {"br;q=2, gzip", Gzip},
    {"br;q=0.1234, gzip", Gzip},
    {"br;q=1.5, gzip", Gzip},
    {"br;q=.5, gzip", Gzip},
    {"br;q=, gzip", Gzip},
    {"br;q=abc, gzip", Gzip},
    {"br;q, gzip", Gzip},
    {"br;q=-1, gzip", Gzip},
    {"b r, gzip", Gzip},
    {"zstd;q=0.5;q=x, gzip;q=0.1", Gzip},
    // Unknown parameters are ignored; empty parameters are harmless.
    {"br;level=5, gzip", Brotli},
    {"gzip;", Gzip},
    // A coding named twice keeps its best weight.
    {"br;q=0.1, gzip;q=0.5, br;q=0.9", Brotli},
    // Everything malformed: as if nothing was asked.
    {";q=1, =, q=0.5", Identity},
};

TEST(AcceptEncodingTest, ChoosesPerTable) {
  for (const Case& c : kCases) {
    EXPECT_EQ(chooseCoding(c.accept_encoding, kZstdBrGzip), c.expected)
        << "Accept-Encoding: \"" << c.accept_encoding << "\" chose "
        << codingName(chooseCoding(c.accept_encoding, kZstdBrGzip)) << ", expected "
        << codingName(c.expected);
  }
}

TEST(AcceptEncodingTest, OnlyOfferedCodingsAreChosen) {
  const std::array<ContentCoding, 1> gzip_only{Gzip};
  EXPECT_EQ(chooseCoding("br, zstd", gzip_only), Identity);
  EXPECT_EQ(chooseCoding("*", gzip_only), Gzip);
  EXPECT_EQ(chooseCoding("gzip", std::span<const ContentCoding>()), Identity);
}

TEST(AcceptEncodingTest, PreferenceOrderBreaksTies) {
  const std::array<ContentCoding, 3> gzip_first{Gzip, Brotli, Zstd};
  EXPECT_EQ(chooseCoding("zstd, br, gzip", gzip_first), Gzip);
  EXPECT_EQ(chooseCoding("*", gzip_first), Gzip);
  // Identity in the preference list is not a coding to offer: skipped.
  const std::array<ContentCoding, 2> with_identity{Identity, Brotli};
  EXPECT_EQ(chooseCoding("br", with_identity), Brotli);
}

TEST(AcceptEncodingTest, NamesAndExtensions) {
  EXPECT_EQ(codingByName("gzip"), Gzip);
  EXPECT_EQ(codingByName("X-GZIP"), Gzip);
  EXPECT_EQ(codingByName("br"), Brotli);
  EXPECT_EQ(codingByName("Zstd"), Zstd);
  EXPECT_EQ(codingByName("identity"), Identity);
  EXPECT_EQ(codingByName("deflate"), std::nullopt);
  EXPECT_EQ(codingByName(""), std::nullopt);
  for (ContentCoding c : {Identity, Gzip, Brotli, Zstd}) EXPECT_EQ(codingByName(codingName(c)), c);
  EXPECT_EQ(codingExtension(Gzip), ".gz");
  EXPECT_EQ(codingExtension(Brotli), ".br");
  EXPECT_EQ(codingExtension(Zstd), ".zst");
  EXPECT_EQ(codingExtension(Identity), "");
}

}  // namespace
}  // namespace portico::http
