// Serialisation of the model: account_state to compact versioned bytes (the snapshots in
// RocksDB's `accounts` column family), and model::event to and from its canonical JSON
// object (the `events` column family and replay logs).
//
// All functions are pure and thread-safe. Decoders never read outside their input, never
// throw (other than std::bad_alloc) and reject anything malformed with a message, so a
// corrupt snapshot is found and rebuilt from events rather than crashing the engine.
#pragma once

#include "model/account_state.hpp"
#include "model/event.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace redflag::model {

// The first bytes of every encoded state: a magic "RFS" and the format version. Decoding
// accepts only versions it knows (currently 1).
// 2: eleven streams (event types `goal`, `spend`); version 1 states (nine streams) still decode.
inline constexpr std::uint8_t state_codec_version = 2;

// Appends the encoding of `state` to `out` (so a caller can prefix its own header).
void encode_state(const account_state& state, std::string& out);
std::string encode_state(const account_state& state);

// Decodes bytes made by encode_state into `out` (replacing its content). On failure
// returns false, writes a reason to `error` if given, and leaves `out` unspecified but valid.
bool decode_state(std::string_view bytes, account_state& out, std::string* error = nullptr);
std::optional<account_state> decode_state(std::string_view bytes, std::string* error = nullptr);

// The canonical JSON object of an event: "type", "account", "id", "at" (RFC 3339, UTC)
// first, then every member of `fields` in its order. `id_derived` is not written: it is
// recovered on decode from the "h:" prefix that derived ids carry.
// encode_event_json writes the same object as text, every double in a form Boost.JSON
// reads back as the same double (see codec.cpp: Boost 1.81's parser does not round
// correctly), so decode_event_json(encode_event_json(e)) has e's fields exactly.
boost::json::object event_to_json(const event& e);
std::string encode_event_json(const event& e);

// The inverse of event_to_json, for the bytes this service stored (the `events` column):
// not an input decoder (input goes through ingest/validate.hpp, the one decoder that
// validates). It checks only what rebuilding state needs (known type, non-empty account,
// string id, RFC 3339 at) and takes the rest as stored, so an event acknowledged under
// older, looser rules is still replayed after a restart rather than lost.
std::optional<event> event_from_json(const boost::json::object& object, std::string* error = nullptr);
std::optional<event> decode_event_json(std::string_view text, std::string* error = nullptr);

}  // namespace redflag::model
