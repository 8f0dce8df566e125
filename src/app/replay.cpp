#include "app/replay.hpp"

#include "core/json_text.hpp"
#include "engine/core.hpp"
#include "rules/rule_set.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>

#include <cstdio>
#include <cstring>
#include <memory>

namespace redflag::app {
namespace {

namespace json = boost::json;

class line_reader {
public:
    explicit line_reader(std::FILE* file) : file_(file), buffer_(1 << 20) {}

    // The next line without its '\n' (and '\r'), or nullopt at the end of the file.
    std::optional<std::string_view> next() {
        while (true) {
            if (auto* newline = static_cast<char*>(std::memchr(buffer_.data() + begin_, '\n', end_ - begin_))) {
                std::size_t length = static_cast<std::size_t>(newline - (buffer_.data() + begin_));
                std::string_view line(buffer_.data() + begin_, length);
                begin_ += length + 1;
                if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
                return line;
            }
            if (eof_) {
                if (begin_ == end_) return std::nullopt;
                std::string_view line(buffer_.data() + begin_, end_ - begin_);
                begin_ = end_;
                if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
                return line;
            }
            // Keep the partial line, make room, read more.
            std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
            if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
            std::size_t got = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_);
            if (got == 0) eof_ = true;
            end_ += got;
        }
    }

    bool failed() const { return std::ferror(file_) != 0; }

private:
    std::FILE* file_;
    std::vector<char> buffer_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    bool eof_ = false;
};

// Builds the event from a parsed line: the members the engine needs, and the rest left
// in `fields`, moved (not copied) so that it keeps the parse buffer's storage. Returns
// "" or what is wrong.
const char* decode_event(json::value& v, std::optional<model::event>& out) {
    auto* object = v.if_object();
    if (object == nullptr) return "an event must be a JSON object";
    auto type_it = object->find("type");
    if (type_it == object->end() || !type_it->value().is_string()) return "missing type";
    auto type = model::event_type_from(type_it->value().get_string());
    if (!type) return "unknown type";
    auto account_it = object->find("account");
    if (account_it == object->end() || !account_it->value().is_string() || account_it->value().get_string().empty())
        return "missing account";
    auto at_it = object->find("at");
    if (at_it == object->end() || !at_it->value().is_string()) return "missing at (a replayed event needs its time)";
    auto at = parse_rfc3339(at_it->value().get_string());
    if (!at) return "at is not an RFC 3339 timestamp";
    std::string account(account_it->value().get_string());
    std::string id;
    if (auto id_it = object->find("id"); id_it != object->end() && id_it->value().is_string())
        id.assign(id_it->value().get_string().data(), id_it->value().get_string().size());
    bool derived = id.empty();
    object->erase("type");
    object->erase("account");
    object->erase("at");
    object->erase("id");
    out.emplace(model::event{*type, std::move(account), std::move(id), *at, derived, std::move(*object)});
    return "";
}

}  // namespace

int run_replay(const replay_options& options, std::ostream& out, std::ostream& err, replay_observer* observer) {
    if (options.outcomes && observer == nullptr) {
        err << "replay: error: --outcomes is not available yet\n";
        return 1;
    }
    if (options.step <= duration::zero()) {
        err << "replay: error: --step must be a positive duration\n";
        return 1;
    }
    auto loaded = rules::load(options.rules);
    if (!loaded.rules || rules::has_errors(loaded.problems)) {
        err << rules::render_text(loaded.problems);
        if (loaded.problems.empty()) err << "replay: error: the rules did not load\n";
        return 1;
    }
    for (const auto& d : loaded.problems) err << rules::render_text(d) << "\n";  // warnings
    if (observer) observer->on_rules(loaded.rules->rules());

    std::FILE* file = options.events == "-" ? stdin : std::fopen(options.events.c_str(), "rb");
    if (file == nullptr) {
        err << options.events << ": error: cannot open: " << std::strerror(errno) << "\n";
        return 1;
    }
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(file == stdin ? nullptr : file, &std::fclose);

    std::unique_ptr<engine::core> core;
    std::string line_out;
    auto flush = [&]() {
        for (const auto& e : core->events()) {
            if (observer) observer->on_alert(e);
            if (e.kind != alerts::event_kind::transition) continue;
            if (options.from && e.at < *options.from) continue;
            line_out.clear();
            line_out += "{\"at\":";
            append_json_string(line_out, format_rfc3339(e.at));
            line_out += ",\"rule\":";
            append_json_string(line_out, e.record.rule);
            line_out += ",\"account\":";
            append_json_string(line_out, e.record.account);
            line_out += ",\"state\":";
            append_json_string(line_out, alerts::name_of(e.to));
            line_out += ",\"severity\":";
            append_json_string(line_out, alerts::name_of(e.record.severity));
            line_out += ",\"message\":";
            append_json_string(line_out, e.message);
            line_out += "}\n";
            out.write(line_out.data(), static_cast<std::streamsize>(line_out.size()));
        }
        core->clear_events();
    };

    // The parser's own stack and the parsed values live in fixed buffers, released after
    // each line: parsing does not touch the heap for ordinary events.
    std::vector<unsigned char> value_buffer(64 * 1024);
    unsigned char parser_buffer[4096];
    json::monotonic_resource values(value_buffer.data(), value_buffer.size());
    json::parser parser(json::storage_ptr(), json::parse_options{}, parser_buffer, sizeof parser_buffer);

    line_reader reader(file);
    std::size_t line_number = 0;
    while (auto line = reader.next()) {
        ++line_number;
        if (line->find_first_not_of(" \t") == std::string_view::npos) continue;
        parser.reset(json::storage_ptr(&values));
        boost::system::error_code ec;
        parser.write(line->data(), line->size(), ec);
        if (ec) {
            err << options.events << ":" << line_number << ": error: malformed JSON: " << ec.message() << "\n";
            return 1;
        }
        {
            json::value v = parser.release();
            std::optional<model::event> decoded;
            const char* problem = decode_event(v, decoded);
            if (*problem != '\0') {
                err << options.events << ":" << line_number << ": error: " << problem << "\n";
                return 1;
            }
            const model::event& e = *decoded;
            if (options.until && e.at > *options.until) break;
            if (!core) core = std::make_unique<engine::core>(loaded.rules, engine::core_options{e.at, options.step, true});
            if (observer) observer->on_event(e);
            core->advance_to(e.at - duration{1});
            flush();
            core->apply(e);
            flush();
        }
        values.release();
    }
    if (reader.failed()) {
        err << options.events << ": error: read failed\n";
        return 1;
    }
    if (core && options.until) {
        core->advance_to(*options.until);
        flush();
    }
    out.flush();  // the transitions before a report on `err`
    const bool reported = observer == nullptr || observer->finish(out, err);
    out.flush();
    return reported ? 0 : 1;
}

}  // namespace redflag::app
