#pragma once
// Result<T>: a value or an Error, for the data path where exceptions are not used.
// GCC 12 has no std::expected, so this is the small subset we need.

#include <string>
#include <utility>
#include <variant>

namespace portico {

// Where a failure came from: retry and status policy read this, not the message text.
enum class ErrorSource { Downstream, Upstream, Internal, Config };

struct Error {
  ErrorSource source = ErrorSource::Internal;
  bool retry_safe = false;  // true only if nothing of the request reached the peer
  std::string detail;       // short, for the log; never shown to clients

  static Error downstream(std::string d) { return {ErrorSource::Downstream, false, std::move(d)}; }
  static Error upstream(std::string d, bool retry_safe) {
    return {ErrorSource::Upstream, retry_safe, std::move(d)};
  }
  static Error internal(std::string d) { return {ErrorSource::Internal, false, std::move(d)}; }
  static Error config(std::string d) { return {ErrorSource::Config, false, std::move(d)}; }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace portico
