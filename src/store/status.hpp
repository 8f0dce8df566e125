// Errors of the store as values: on the data plane nothing throws (DESIGN.md, error policy
// by plane). A default-constructed status is success.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace redflag::store {

class status {
public:
    // no_space: the device is full (RocksDB's IOError with subcode NoSpace); writes are
    // refused until space returns (store::write).
    enum class code : unsigned char { ok, not_found, corruption, io_error, no_space, invalid_argument, busy, shutdown, other };

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

}  // namespace redflag::store
