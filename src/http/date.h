#pragma once
// HTTP dates (RFC 9110 5.6.7): IMF-fixdate out; IMF-fixdate, RFC 850 and asctime in.

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace portico::http {

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::string formatHttpDate(time_t t);
// nullopt if `text` is none of the three formats.
std::optional<time_t> parseHttpDate(std::string_view text);

}  // namespace portico::http
