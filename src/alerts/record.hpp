// The alert record: what column `alerts` holds for each alert, and the only code that
// knows its bytes. It is the alert (alerts/alert.hpp, JSON by alerts/codec) plus what the
// engine knew of the account when it wrote the transition (name, CSM: for the API's
// filters and readers) and the transition's message. Stored as one JSON object:
//   to_json(alert) + "account_name","csm","csm_email","arr" (when the account was known)
//                  + "renewal_at","segment" (when the account had them)
//                  + "message" (when not empty)
// The API shows the same object (list and get; get adds the notifications' history).
//
// Pure functions, thread-safe. Decoding never throws.
#pragma once

#include "alerts/alert.hpp"
#include "alerts/lifecycle.hpp"
#include "model/account_state.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace redflag::alerts {

// The account's profile at the time of the record's last transition.
struct account_profile {
    std::string name;
    std::string csm;
    std::string csm_email;
    double arr = 0;          // 12 x MRR, for the console's inbox (sort by ARR)
    std::string renewal_at{};  // RFC 3339, or empty
    std::string segment{};
    friend bool operator==(const account_profile&, const account_profile&) = default;
};

struct alert_record {
    alert a;
    std::optional<account_profile> profile;  // absent when the engine had no account state
    std::string message;                     // the last transition's message; may be empty
    friend bool operator==(const alert_record&, const alert_record&) = default;
};

// The record of a transition (`account` may be null: then no profile).
alert_record make_record(const alert_event& e, const model::account_state* account);

boost::json::object to_json(const alert_record& r);
std::string encode_record(const alert_record& r);
std::optional<alert_record> decode_record(std::string_view bytes, std::string* error = nullptr);

}  // namespace redflag::alerts
