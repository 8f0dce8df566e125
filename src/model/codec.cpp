// Binary layout of an account_state, version 2 (all integers are LEB128 varints, signed
// ones zigzag-encoded; times are milliseconds; times in sorted vectors are deltas from the
// previous element):
//
//   "RFS" version
//   id                      string (varint length + bytes)
//   first_seen              optional time (byte 0/1 + time)
//   latest_at               time
//   15 × profile field      scalar, profile_at, profile_first_at
//   15 × history            count, then (delta at, before scalar, after scalar)...
//   attributes              count, then (key string, scalar)...
//   users                   count, then (id, email, name, role, active byte, first_seen, optional last_seen)...
//   tickets                 count, then (id, status, priority, subject, opened_at, updated_at,
//                           optional first_response_at)...
//   usage                   count, then (metric, count, then (delta at, number sum, count)...)...
//   11 × stream             count, then (delta at, value count, scalars...)...
//   11 × latest_of_type     optional time
//
// Version 1 is the same with 9 streams and 9 latest_of_type (before `goal` and `spend`)
// and tickets without first_response_at; it decodes with those streams empty and no
// first responses.
//   movements               count, then (delta at, kind byte, number before, number after)...
//
// A time delta is varint(zigzag(seconds) << 1) when it is whole seconds, else
// varint(zigzag(millis) << 1 | 1), or for huge deltas varint(1) and 8 raw bytes. A number is varint(zigzag(n) << 2) when it is an integer
// below 2^53 in magnitude, varint(zigzag(n) << 2 | 1) when it is exactly n / 100 (prices,
// decimals), else varint(3) and 8 little-endian bytes of the IEEE double. A scalar is a tag byte and its
// payload. The decoder requires the input to end exactly after the last field.
#include "model/codec.hpp"

#include "core/json_text.hpp"
#include "model/schema.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

namespace redflag::model {
namespace {

constexpr char magic[3] = {'R', 'F', 'S'};

enum scalar_tag : std::uint8_t {
    tag_null = 0,
    tag_false = 1,
    tag_true = 2,
    tag_number = 3,
    tag_time = 4,
    tag_string = 5,
    tag_list = 6,
};

constexpr double max_exact_integer = 9007199254740992.0;  // 2^53

std::uint64_t zigzag(std::int64_t v) { return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63); }
std::int64_t unzigzag(std::uint64_t v) { return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1); }

class writer {
public:
    explicit writer(std::string& out) : out_(out) {}

    void byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }

    void varint(std::uint64_t v) {
        char buf[10];
        int n = 0;
        while (v >= 0x80) {
            buf[n++] = static_cast<char>(v | 0x80);
            v >>= 7;
        }
        buf[n++] = static_cast<char>(v);
        out_.append(buf, n);
    }

    void signed_varint(std::int64_t v) { varint(zigzag(v)); }
    void time(timestamp t) { signed_varint(to_millis(t)); }
    // Deltas may overflow int64 for far-apart extremes; unsigned wrap-around is exact.
    // Whole seconds (the usual case) are written in seconds, flagged in the low bit.
    void time_delta(timestamp t, timestamp& previous) {
        const auto d = static_cast<std::int64_t>(static_cast<std::uint64_t>(to_millis(t)) -
                                                 static_cast<std::uint64_t>(to_millis(previous)));
        if (d % 1000 == 0) {
            varint(zigzag(d / 1000) << 1);
        } else if (d > -(std::int64_t{1} << 61) && d < (std::int64_t{1} << 61)) {
            varint(zigzag(d) << 1 | 1);
        } else {
            varint(1);  // free: a delta of 0 takes the seconds form; 8 raw bytes follow
            raw64(static_cast<std::uint64_t>(d));
        }
        previous = t;
    }

    void optional_time(const std::optional<timestamp>& t) {
        byte(t ? 1 : 0);
        if (t) time(*t);
    }

    void number(double d) {
        if (std::abs(d) < max_exact_integer && d == std::trunc(d)) {
            varint(zigzag(static_cast<std::int64_t>(d)) << 2);
            return;
        }
        if (std::abs(d) < max_exact_integer / 100) {
            const double cents = std::round(d * 100);
            if (cents / 100 == d) {
                varint(zigzag(static_cast<std::int64_t>(cents)) << 2 | 1);
                return;
            }
        }
        varint(3);
        raw64(std::bit_cast<std::uint64_t>(d));
    }

    void raw64(std::uint64_t bits) {
        char buf[8];
        for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(bits >> (8 * i));
        out_.append(buf, 8);
    }

    void string(std::string_view s) {
        varint(s.size());
        out_.append(s.data(), s.size());
    }

    void value(const scalar& s) {
        struct visitor {
            writer& w;
            void operator()(std::monostate) const { w.byte(tag_null); }
            void operator()(bool b) const { w.byte(b ? tag_true : tag_false); }
            void operator()(double d) const {
                w.byte(tag_number);
                w.number(d);
            }
            void operator()(timestamp t) const {
                w.byte(tag_time);
                w.time(t);
            }
            void operator()(const std::string& s) const {
                w.byte(tag_string);
                w.string(s);
            }
            void operator()(const string_list& l) const {
                w.byte(tag_list);
                w.varint(l.size());
                for (const auto& s : l) w.string(s);
            }
        };
        std::visit(visitor{*this}, s);
    }

private:
    std::string& out_;
};

// Reads with bounds checks; after the first failure every read returns a default and
// ok() stays false, so decoding code can read straight on and check once per element.
class reader {
public:
    explicit reader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()), begin_(in.data()) {}

    bool ok() const { return ok_; }
    bool at_end() const { return p_ == end_; }
    std::size_t offset() const { return static_cast<std::size_t>(p_ - begin_); }
    const char* what() const { return what_; }

    void fail(const char* what) {
        if (ok_) {
            ok_ = false;
            what_ = what;
            fail_offset_ = offset();
        }
        p_ = end_;
    }
    std::size_t fail_offset() const { return fail_offset_; }

    std::uint8_t byte() {
        if (p_ == end_) {
            fail("unexpected end of input");
            return 0;
        }
        return static_cast<std::uint8_t>(*p_++);
    }

    std::uint64_t varint() {
        // Most varints here are one byte: counts, small deltas, tags.
        if (p_ != end_ && static_cast<std::uint8_t>(*p_) < 0x80) return static_cast<std::uint8_t>(*p_++);
        return varint_slow();
    }

    std::uint64_t varint_slow() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p_ == end_) {
                fail("unexpected end of input in varint");
                return 0;
            }
            auto b = static_cast<std::uint8_t>(*p_++);
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        fail("varint too long");
        return 0;
    }

    // A count of elements that each take at least one byte: bounded by what is left, so
    // corrupt input cannot make us reserve gigabytes.
    std::size_t count() {
        auto n = varint();
        if (n > static_cast<std::uint64_t>(end_ - p_)) {
            fail("count larger than the remaining input");
            return 0;
        }
        return static_cast<std::size_t>(n);
    }

    std::int64_t signed_varint() { return unzigzag(varint()); }
    timestamp time() { return from_millis(signed_varint()); }
    timestamp time_delta(timestamp& previous) {
        const auto v = varint();
        std::uint64_t d;
        if (v == 1) d = raw64();
        else if (v & 1) d = static_cast<std::uint64_t>(unzigzag(v >> 1));
        else d = static_cast<std::uint64_t>(unzigzag(v >> 1)) * 1000;  // wraps like the writer's subtraction
        previous = from_millis(static_cast<std::int64_t>(static_cast<std::uint64_t>(to_millis(previous)) + d));
        return previous;
    }

    std::optional<timestamp> optional_time() {
        auto flag = byte();
        if (flag == 0) return std::nullopt;
        if (flag != 1) {
            fail("bad optional flag");
            return std::nullopt;
        }
        return time();
    }

    double number() {
        auto v = varint();
        if ((v & 3) == 0) return static_cast<double>(unzigzag(v >> 2));
        if ((v & 3) == 1) return static_cast<double>(unzigzag(v >> 2)) / 100;
        if (v != 3) {
            fail("bad number marker");
            return 0;
        }
        return std::bit_cast<double>(raw64());
    }

    std::uint64_t raw64() {
        if (end_ - p_ < 8) {
            fail("unexpected end of input in a fixed-size field");
            return 0;
        }
        std::uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(p_[i])) << (8 * i);
        p_ += 8;
        return bits;
    }

    void string(std::string& out) {
        auto n = count();
        out.assign(p_, n);
        p_ += n;
    }

    std::string string() {
        std::string s;
        string(s);
        return s;
    }

    scalar value() {
        switch (byte()) {
            case tag_null: return {};
            case tag_false: return false;
            case tag_true: return true;
            case tag_number: return number();
            case tag_time: return time();
            case tag_string: return string();
            case tag_list: {
                auto n = count();
                string_list l(n);
                for (auto& s : l) string(s);
                return l;
            }
            default: fail("unknown scalar tag"); return {};
        }
    }

private:
    const char* p_;
    const char* end_;
    const char* begin_;
    bool ok_ = true;
    const char* what_ = "";
    std::size_t fail_offset_ = 0;
};

}  // namespace

void encode_state(const account_state& s, std::string& out) {
    writer w(out);
    out.append(magic, sizeof magic);
    w.byte(state_codec_version);
    w.string(s.id);
    w.optional_time(s.first_seen);
    w.time(s.latest_at);
    for (std::size_t i = 0; i < profile_field_count; ++i) {
        const auto f = static_cast<profile_field>(i);
        w.value(s.get(f));
        w.time(s.set_at(f));
        w.time(s.first_set_at(f));
    }
    for (std::size_t i = 0; i < profile_field_count; ++i) {
        const auto& h = s.history_of(static_cast<profile_field>(i));
        w.varint(h.size());
        timestamp prev{};
        for (const auto& c : h) {
            w.time_delta(c.at, prev);
            w.value(c.before);
            w.value(c.after);
        }
    }
    w.varint(s.attributes.size());
    for (const auto& [key, value] : s.attributes) {
        w.string(key);
        w.value(value);
    }
    w.varint(s.users.size());
    for (const auto& u : s.users) {
        w.string(u.id);
        w.string(u.email);
        w.string(u.name);
        w.string(u.role);
        w.byte(u.active ? 1 : 0);
        w.time(u.first_seen);
        w.optional_time(u.last_seen);
    }
    w.varint(s.tickets.size());
    for (const auto& t : s.tickets) {
        w.string(t.id);
        w.string(t.status);
        w.string(t.priority);
        w.string(t.subject);
        timestamp prev{};
        w.time_delta(t.opened_at, prev);
        w.time_delta(t.updated_at, prev);
        w.optional_time(t.first_response_at);
    }
    w.varint(s.usage.size());
    for (const auto& [metric, series] : s.usage) {
        w.string(metric);
        w.varint(series.points.size());
        timestamp prev{};
        for (const auto& p : series.points) {
            w.time_delta(p.at, prev);
            w.number(p.sum);
            w.varint(p.count);
        }
    }
    for (std::size_t t = 0; t < event_type_count; ++t) {
        const auto& stream = s.stream(static_cast<event_type>(t));
        w.varint(stream.size());
        timestamp prev{};
        for (const auto& r : stream) {
            w.time_delta(r.at, prev);
            w.varint(r.values.size());
            for (const auto& v : r.values) w.value(v);
        }
    }
    for (std::size_t t = 0; t < event_type_count; ++t) w.optional_time(s.latest_of(static_cast<event_type>(t)));
    w.varint(s.movements.size());
    timestamp prev{};
    for (const auto& m : s.movements) {
        w.time_delta(m.at, prev);
        w.byte(static_cast<std::uint8_t>(m.kind));
        w.number(m.before);
        w.number(m.after);
    }
}

std::string encode_state(const account_state& state) {
    std::string out;
    out.reserve(256);
    encode_state(state, out);
    return out;
}

bool decode_state(std::string_view bytes, account_state& s, std::string* error) {
    auto failed = [&](const char* what, std::size_t offset) {
        if (error) *error = std::string("account state: ") + what + " at byte " + std::to_string(offset);
        return false;
    };
    if (bytes.size() < 4 || std::memcmp(bytes.data(), magic, sizeof magic) != 0) return failed("not an encoded account state", 0);
    const auto version = static_cast<std::uint8_t>(bytes[3]);
    if (version != state_codec_version && version != 1) return failed("unsupported version", 3);
    // Version 1 had the types before `goal` only.
    const std::size_t stream_types = version == 1 ? static_cast<std::size_t>(event_type::goal) : event_type_count;
    reader r(bytes.substr(4));
    s = account_state{};
    r.string(s.id);
    s.first_seen = r.optional_time();
    s.latest_at = r.time();
    for (std::size_t i = 0; i < profile_field_count && r.ok(); ++i) {
        auto value = r.value();
        const auto at = r.time();
        const auto first_at = r.time();
        s.put(static_cast<profile_field>(i), std::move(value), at, first_at);  // no entry when unset
    }
    for (std::size_t i = 0; i < profile_field_count && r.ok(); ++i) {
        std::vector<field_change> h(r.count());
        timestamp prev{};
        for (auto& c : h) {
            c.at = r.time_delta(prev);
            c.before = r.value();
            c.after = r.value();
        }
        s.put_history(static_cast<profile_field>(i), std::move(h));
    }
    for (auto n = r.count(); n > 0 && r.ok(); --n) {
        auto key = r.string();
        auto value = r.value();
        s.attributes.emplace_hint(s.attributes.end(), std::move(key), std::move(value));
    }
    s.users.resize(r.count());
    for (auto& u : s.users) {
        r.string(u.id);
        r.string(u.email);
        r.string(u.name);
        r.string(u.role);
        u.active = r.byte() != 0;
        u.first_seen = r.time();
        u.last_seen = r.optional_time();
    }
    s.tickets.resize(r.count());
    for (auto& t : s.tickets) {
        r.string(t.id);
        r.string(t.status);
        r.string(t.priority);
        r.string(t.subject);
        timestamp prev{};
        t.opened_at = r.time_delta(prev);
        t.updated_at = r.time_delta(prev);
        if (version >= 2) t.first_response_at = r.optional_time();
    }
    for (auto n = r.count(); n > 0 && r.ok(); --n) {
        auto metric = r.string();
        auto& points = s.usage.emplace_hint(s.usage.end(), std::move(metric), usage_series{})->second.points;
        points.resize(r.count());
        timestamp prev{};
        for (auto& p : points) {
            p.at = r.time_delta(prev);
            p.sum = r.number();
            auto c = r.varint();
            if (c > UINT32_MAX) r.fail("usage count out of range");
            p.count = static_cast<std::uint32_t>(c);
        }
    }
    for (std::size_t type = 0; type < stream_types; ++type) {
        const auto n_records = r.count();
        if (n_records == 0) continue;
        auto& stream = s.stream_for(static_cast<event_type>(type));
        stream.resize(n_records);
        const auto expected = stream_field_count(static_cast<event_type>(type));
        timestamp prev{};
        for (auto& rec : stream) {
            rec.at = r.time_delta(prev);
            auto n = r.count();
            // Records written before a field was added to the schema lack it: pad with null.
            if (n > expected) r.fail("stream record has more values than its type has fields");
            rec.values.resize(r.ok() ? expected : 0);
            for (std::size_t i = 0; i < n && r.ok(); ++i) rec.values[i] = r.value();
        }
    }
    for (std::size_t type = 0; type < stream_types; ++type) s.set_latest_of(static_cast<event_type>(type), r.optional_time());
    s.movements.resize(r.count());
    timestamp prev{};
    for (auto& m : s.movements) {
        m.at = r.time_delta(prev);
        auto kind = r.byte();
        if (kind >= movement_kind_names.size()) r.fail("unknown movement kind");
        m.kind = static_cast<movement_kind>(kind);
        m.before = r.number();
        m.after = r.number();
    }
    if (!r.ok()) return failed(r.what(), r.fail_offset() + 4);
    if (!r.at_end()) return failed("trailing bytes", r.offset() + 4);
    return true;
}

std::optional<account_state> decode_state(std::string_view bytes, std::string* error) {
    account_state s;
    if (!decode_state(bytes, s, error)) return std::nullopt;
    return s;
}

boost::json::object event_to_json(const event& e) {
    boost::json::object o;
    o.reserve(e.fields.size() + 4);
    o.emplace("type", name_of(e.type));
    o.emplace("account", e.account);
    o.emplace("id", e.id);
    o.emplace("at", format_rfc3339(e.at));
    for (const auto& [key, value] : e.fields)
        if (!is_envelope_key(key)) o.emplace(key, value);
    return o;
}

namespace {

// True when Boost.JSON reads `text` back as exactly `d` (a double, not an integer).
bool reads_back(std::string_view text, double d) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    return !ec && v.is_double() && v.get_double() == d;
}

// The text of a double that Boost.JSON reads back as the same double. Boost 1.81 does
// not round correctly when it parses (it computes double(m) x 10^e from the digits m
// and the exponent e), so about one double in five, written in its shortest form, reads
// back one ulp off, and an event stored and read after a restart would rebuild a
// slightly different state. The shortest form is kept when it reads back; otherwise
// m "e" -k, with m the integers (as Boost rounds them) next to |d| x 10^k, for k from
// the most digits Boost keeps (m below 1.8e19) down. Every double Boost produced when it
// parsed an event has such a form; one it never produces (from other arithmetic) keeps
// the shortest form, the nearest it can read.
std::string double_text(double d) {
    if (!std::isfinite(d)) return "null";  // never in a validated event
    char buf[32];
    auto written = std::to_chars(buf, buf + sizeof buf, d);
    std::string shortest(buf, written.ptr);
    if (shortest.find_first_of(".e") == std::string::npos) shortest += "e0";  // stays a double
    if (reads_back(shortest, d)) return shortest;
    const long double a = std::fabs(static_cast<long double>(d));
    const int top = static_cast<int>(std::floor(18.9L - std::log10(a)));
    std::string text;
    auto try_m = [&](std::uint64_t m, int k) {
        text.assign(d < 0 ? "-" : "");
        text += std::to_string(m);
        text += 'e';
        text += std::to_string(-k);
        return reads_back(text, d);
    };
    for (int k = top; k > top - 20; --k) {
        const long double guess = a * std::pow(10.0L, static_cast<long double>(k));
        if (!(guess < 1.8e19L)) continue;
        if (guess < 0.5L) break;
        const auto m = static_cast<std::uint64_t>(guess + 0.5L);
        if (m < (std::uint64_t{1} << 53)) {  // exact integers: their neighbours
            for (std::uint64_t c = m > 3 ? m - 3 : 0; c <= m + 3; ++c)
                if (try_m(c, k)) return text;
            continue;
        }
        // Above 2^53 Boost rounds m to a double first: the neighbouring doubles.
        double up = static_cast<double>(m), down = up;
        for (int step = 0; step < 4; ++step) {
            if (up < 1.8e19 && try_m(static_cast<std::uint64_t>(up), k)) return text;
            if (step > 0 && try_m(static_cast<std::uint64_t>(down), k)) return text;
            up = std::nextafter(up, 2e19);
            down = std::nextafter(down, 0.0);
        }
    }
    return shortest;
}

// JSON text of a value, as boost::json::serialize writes it except for doubles
// (double_text).
void append_json(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::null: out += "null"; return;
        case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
        case boost::json::kind::int64: out += std::to_string(v.get_int64()); return;
        case boost::json::kind::uint64: out += std::to_string(v.get_uint64()); return;
        case boost::json::kind::double_: out += double_text(v.get_double()); return;
        case boost::json::kind::string: append_json_string(out, v.get_string()); return;
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& item : v.get_array()) {
                if (!first) out += ',';
                first = false;
                append_json(out, item);
            }
            out += ']';
            return;
        }
        case boost::json::kind::object: {
            out += '{';
            bool first = true;
            for (const auto& [key, value] : v.get_object()) {
                if (!first) out += ',';
                first = false;
                append_json_string(out, key);
                out += ':';
                append_json(out, value);
            }
            out += '}';
            return;
        }
    }
}

}  // namespace

std::string encode_event_json(const event& e) {
    std::string out;
    out.reserve(128);
    out += "{\"type\":";
    append_json_string(out, name_of(e.type));
    out += ",\"account\":";
    append_json_string(out, e.account);
    out += ",\"id\":";
    append_json_string(out, e.id);
    out += ",\"at\":";
    append_json_string(out, format_rfc3339(e.at));
    for (const auto& [key, value] : e.fields) {
        if (is_envelope_key(key)) continue;
        out += ',';
        append_json_string(out, key);
        out += ':';
        append_json(out, value);
    }
    out += '}';
    return out;
}

std::optional<event> event_from_json(const boost::json::object& o, std::string* error) {
    auto failed = [&](const char* what) -> std::optional<event> {
        if (error) *error = what;
        return std::nullopt;
    };
    const auto envelope = find_envelope(o);
    if (!envelope.type || !envelope.type->is_string()) return failed("event: missing type");
    auto type = event_type_from(envelope.type->get_string());
    if (!type) return failed("event: unknown type");
    if (!envelope.account || !envelope.account->is_string() || envelope.account->get_string().empty())
        return failed("event: missing account");
    if (!envelope.at || !envelope.at->is_string()) return failed("event: missing at");
    auto at = parse_rfc3339(envelope.at->get_string());
    if (!at) return failed("event: at is not an RFC 3339 timestamp");
    event e;
    e.type = *type;
    e.account = std::string(envelope.account->get_string());
    e.at = *at;
    if (envelope.id) {
        if (!envelope.id->is_string()) return failed("event: id is not a string");
        e.id = std::string(envelope.id->get_string());
        e.id_derived = e.id.starts_with("h:");
    }
    e.fields.reserve(o.size() > 4 ? o.size() - 4 : 0);
    for (const auto& [key, value] : o)
        if (!is_envelope_key(key)) e.fields.emplace(key, value);
    return e;
}

std::optional<event> decode_event_json(std::string_view text, std::string* error) {
    boost::system::error_code ec;
    auto value = boost::json::parse(text, ec);
    if (ec) {
        if (error) *error = "event: invalid JSON: " + ec.message();
        return std::nullopt;
    }
    if (!value.is_object()) {
        if (error) *error = "event: not a JSON object";
        return std::nullopt;
    }
    return event_from_json(value.get_object(), error);
}

}  // namespace redflag::model
