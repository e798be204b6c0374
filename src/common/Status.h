// Status and Result<T>: errors at I/O boundaries are values.
//
// A Status is either ok, retryable (a transient condition such as a dropped connection or a server that
// is restarting: the caller backs off and tries again without losing its position) or fatal (bad
// configuration, missing privileges, a schema we cannot map: retrying cannot help). The classification is
// made once, where the error is first seen. Thread-compatible value types.
#pragma once

#include <fmt/format.h>

#include <string>
#include <utility>
#include <variant>

namespace streamshop {

class [[nodiscard]] Status {
 public:
  enum class Code { kOk, kRetryable, kFatal };

  Status() = default;
  static Status Ok() { return {}; }
  static Status Retryable(std::string message) { return Status(Code::kRetryable, std::move(message)); }
  static Status Fatal(std::string message) { return Status(Code::kFatal, std::move(message)); }

  bool ok() const { return code_ == Code::kOk; }
  bool retryable() const { return code_ == Code::kRetryable; }
  bool fatal() const { return code_ == Code::kFatal; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns the same classification with `context` prepended, e.g. "table public.orders: <message>".
  Status WithContext(std::string_view context) const { return Status(code_, fmt::format("{}: {}", context, message_)); }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be ok

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace streamshop

// Propagates a non-ok Status from an expression returning Status.
#define SS_RETURN_IF_ERROR(expr)       \
  do {                                 \
    ::streamshop::Status _st = (expr); \
    if (!_st.ok()) return _st;         \
  } while (0)

#define SS_CONCAT_INNER(a, b) a##b
#define SS_CONCAT(a, b) SS_CONCAT_INNER(a, b)
// Declares `lhs` from a Result-returning expression or returns its error Status.
#define SS_ASSIGN_OR_RETURN(lhs, expr) SS_ASSIGN_OR_RETURN_IMPL(SS_CONCAT(_res_, __LINE__), lhs, expr)
#define SS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
