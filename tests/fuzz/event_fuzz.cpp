// libFuzzer target: arbitrary bytes as a webhook body through the whole event path
// below HTTP, body decode (a JSON object, an array, or NDJSON: the first byte chooses) →
// the one event decoder (ingest/validate.hpp, live ingest's options) → model events →
// account states → the storage codecs and back. Besides crashes and sanitizer reports
// it fails (abort) when a promise breaks:
//  - an accepted event, stored (model::encode_event_json) and read back
//    (model::decode_event_json), is the same event (type, account, id, at, fields);
//  - a stored event is valid JSON again for the decoder: re-validated, it is accepted;
//  - states built from the events and from their stored copies encode to the same bytes;
//  - a state's encoding decodes (model::decode_state) and encodes to the same bytes.
#include "ingest/decode.hpp"
#include "ingest/validate.hpp"
#include "model/account_state.hpp"
#include "model/codec.hpp"

#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

using namespace redflag;

namespace {

[[noreturn]] void fail(const char* what, const std::string& a, const std::string& b) {
    std::fprintf(stderr, "event_fuzz: %s\n--- first\n%s\n--- second\n%s\n", what, a.c_str(), b.c_str());
    std::abort();
}

// The fields without the envelope members the decoder may leave in them.
boost::json::object fields_of(const model::event& e) {
    boost::json::object out;
    for (const auto& [key, value] : e.fields)
        if (!model::is_envelope_key(key)) out.emplace(key, value);
    return out;
}

std::string show(const model::event& e) {
    return std::string(model::name_of(e.type)) + " " + e.account + " " + e.id + " " + format_rfc3339(e.at) + " " +
           boost::json::serialize(fields_of(e));
}

const timestamp received = *parse_rfc3339("2026-11-02T12:00:00Z");

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto format = (data[0] & 1) ? ingest::body_format::ndjson : ingest::body_format::json;
    std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

    auto decoded = ingest::decode_body(body, format, 1000);
    if (decoded.error) return 0;
    ingest::validation_limits limits;
    limits.max_age = 400 * day;
    limits.max_future = day;
    auto validated = ingest::validate(std::move(decoded.items), received, limits);
    for (const auto& p : validated.problems) (void)ingest::describe(p);
    if (!validated.ok()) return 0;

    std::map<std::string, model::account_state> direct, stored;
    for (const auto& e : validated.events) {
        const std::string bytes = model::encode_event_json(e);
        std::string error;
        auto back = model::decode_event_json(bytes, &error);
        if (!back) fail("a stored event does not decode", show(e), error + "\n" + bytes);
        if (back->type != e.type || back->account != e.account || back->id != e.id || back->at != e.at ||
            back->id_derived != e.id_derived || fields_of(*back) != fields_of(e))
            fail("a stored event decodes to another event", show(e), show(*back));

        // What was stored passes the decoder again (nothing it accepted becomes invalid).
        auto again = ingest::decode_body(bytes, ingest::body_format::json);
        if (again.error) fail("a stored event is not JSON", bytes, again.error->message);
        auto revalidated = ingest::validate(std::move(again.items), received, limits);
        if (!revalidated.ok()) fail("a stored event is refused", bytes, ingest::describe(revalidated.problems.front()));

        auto& a = direct[e.account];
        a.id = e.account;
        a.apply(e);
        auto& b = stored[back->account];
        b.id = back->account;
        b.apply(*back);
    }

    for (const auto& [account, state] : direct) {
        const std::string bytes = model::encode_state(state);
        if (model::encode_state(stored.at(account)) != bytes)
            fail("states from the events and from their stored copies differ", account, "");
        std::string error;
        auto decoded_state = model::decode_state(bytes, &error);
        if (!decoded_state) fail("an encoded state does not decode", account, error);
        if (model::encode_state(*decoded_state) != bytes) fail("a decoded state encodes to other bytes", account, "");
        auto expired = state;
        expired.expire(received - 30 * day);
        if (!model::decode_state(model::encode_state(expired))) fail("an expired state does not decode", account, "");
    }
    return 0;
}
