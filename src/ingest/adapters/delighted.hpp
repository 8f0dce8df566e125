// Delighted webhooks -> canonical events.
//
// Payload (https://delighted.com/docs/api/webhooks, confirmed there): {"event_type":
// "survey_response.created" | "survey_response.updated" | "unsubscribe.created",
// "event_id", "event_data": {id, person: {id, email, name}, survey_type, score, comment,
// created_at (Unix seconds), person_properties, ...}}.
// Signature: the X-Delighted-Webhook-Signature header, "sha256=" + hex HMAC-SHA256 of the
// raw body under the project's API key. The stored copy of Delighted's page shows the
// payloads but not its signing section; the header, the prefix, the hex encoding and the
// key are confirmed by two independent secondary sources (an integration's verifier and
// a summary of the API), not by Delighted's own text. There is no timestamp to bound a
// replay: the response id is the event id, so a replay is a duplicate.
//
// Mapping: a survey response of survey_type "nps" -> `nps` (score 0..10), "csat" ->
// `csat` (score 1..5), with the comment and the person's email (else id) as respondent.
// Other survey types and unsubscribes are ignored. The id is "delighted:" + the response
// id, so the update that adds a comment to an answer is a duplicate of it: an answer
// counts once, at its first score. The account is the person property `account_property`
// (set when the survey was sent), else the person, resolved by the route.
#pragma once

#include "ingest/adapters/adapter_config.hpp"
#include "ingest/adapters/hook.hpp"

#include <optional>
#include <string>

namespace redflag::ingest::adapters {

// nullopt when `signature` is "sha256=" + the hex HMAC-SHA256 of `body` under `secret`.
std::optional<std::string> check_delighted_signature(std::string_view signature, std::string_view body,
                                                     std::string_view secret);

class delighted_adapter final : public adapter {
public:
    explicit delighted_adapter(adapter_config config) : config_(std::move(config)) {}
    std::string_view vendor() const override { return "delighted"; }
    hook_result handle(const hook_request& request, timestamp now) const override;

private:
    adapter_config config_;
};

}  // namespace redflag::ingest::adapters
