// Errors of the cluster layer as values: on the data plane nothing throws (DESIGN.md, error
// policy by plane). A default-constructed status is success. The codes are what a caller
// decides on: `conflict` (a compare-and-set lost: the key exists or moved on), `not_found`,
// `timeout` and `unavailable` (worth retrying), `corrupt` (an integrity check failed),
// `invalid` (a bad argument or configuration), `other`.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace redflag::cluster {

class status {
public:
    enum class code : unsigned char { ok, conflict, not_found, timeout, unavailable, corrupt, invalid, other };

    status() = default;
    static status error(code c, std::string message) { return status(c, std::move(message)); }

    bool ok() const { return code_ == code::ok; }
    explicit operator bool() const { return ok(); }
    code error_code() const { return code_; }
    const std::string& message() const { return message_; }  // empty when ok

private:
    status(code c, std::string message) : code_(c), message_(std::move(message)) {}
    code code_ = code::ok;
    std::string message_;
};

// A value or the error that prevented it.
template <class T>
class result {
public:
    result(T value) : value_(std::move(value)) {}      // NOLINT: implicit by design
    result(status error) : status_(std::move(error)) {  // NOLINT
        if (status_.ok()) status_ = status::error(status::code::other, "result built from a success status without a value");
    }

    bool ok() const { return value_.has_value(); }
    explicit operator bool() const { return ok(); }
    const status& error() const { return status_; }

    T& value() & { return *value_; }
    const T& value() const& { return *value_; }
    T&& value() && { return std::move(*value_); }
    T* operator->() { return &*value_; }
    const T* operator->() const { return &*value_; }
    T& operator*() & { return *value_; }
    const T& operator*() const& { return *value_; }

private:
    std::optional<T> value_;
    status status_;
};

}  // namespace redflag::cluster
