#include "app/import.hpp"

#include "delivery/channels/http_client.hpp"
#include "ingest/adapters/native.hpp"
#include "ingest/decode.hpp"
#include "ingest/validate.hpp"
#include "model/schema.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

namespace redflag::app {
namespace {

namespace json = boost::json;
using ingest::adapters::snake_name;

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Converts one cell to the kind of `spec`; nullopt with `why` set when it cannot.
std::optional<json::value> convert(const std::string& cell, const model::field_spec& spec, std::string& why) {
    using model::field_kind;
    switch (spec.kind) {
        case field_kind::string: return json::value(cell);
        case field_kind::integer: {
            try {
                std::size_t used = 0;
                long long n = std::stoll(cell, &used);
                if (used == cell.size()) return json::value(n);
            } catch (const std::exception&) {
            }
            why = "must be an integer, not \"" + cell + "\"";
            return std::nullopt;
        }
        case field_kind::number: {
            try {
                std::size_t used = 0;
                double d = std::stod(cell, &used);
                if (used == cell.size() && std::isfinite(d)) return json::value(d);
            } catch (const std::exception&) {
            }
            why = "must be a number, not \"" + cell + "\"";
            return std::nullopt;
        }
        case field_kind::boolean: {
            auto v = snake_name(cell);
            if (v == "true" || v == "yes" || v == "1") return json::value(true);
            if (v == "false" || v == "no" || v == "0") return json::value(false);
            why = "must be true or false, not \"" + cell + "\"";
            return std::nullopt;
        }
        case field_kind::time: {
            if (parse_rfc3339(cell)) return json::value(cell);
            if (cell.size() == 10 && parse_rfc3339(cell + "T00:00:00Z")) return json::value(cell + "T00:00:00Z");
            why = "must be a date (2026-01-31) or an RFC 3339 time, not \"" + cell + "\"";
            return std::nullopt;
        }
        case field_kind::string_list: {
            json::array list;
            std::stringstream in(cell);
            std::string item;
            while (std::getline(in, item, ';'))
                if (auto t = trim(item); !t.empty()) list.emplace_back(t);
            return json::value(std::move(list));
        }
        case field_kind::object: why = "is an object: map columns to attributes.KEY instead"; return std::nullopt;
    }
    return std::nullopt;
}

struct column_plan {
    std::string field;  // "" : left out
    const model::field_spec* spec = nullptr;
    std::string attribute;  // for attributes.KEY
};

struct row_problem {
    std::size_t line = 0, column = 0;
    std::string message;
};

}  // namespace

csv_result parse_csv(const std::string& text) {
    csv_result result;
    std::vector<csv_cell> row;
    csv_cell cell;
    std::size_t line = 1, column = 1;
    bool in_quotes = false, quoted = false, cell_started = false, row_has_content = false;
    auto start_cell = [&] {
        cell = csv_cell{"", line, column};
        cell_started = true;
        quoted = false;
    };
    auto end_cell = [&] {
        if (!cell_started) start_cell();
        row.push_back(std::move(cell));
        cell_started = false;
    };
    auto end_row = [&] {
        end_cell();
        bool blank = row.size() == 1 && row[0].text.empty() && !row_has_content;
        if (!blank) result.rows.push_back(std::move(row));
        row.clear();
        row_has_content = false;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (!cell_started) start_cell();
        if (in_quotes) {
            if (c == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    cell.text += '"';
                    ++i;
                    column += 2;
                    continue;
                }
                in_quotes = false;
                ++column;
                continue;
            }
            cell.text += c;
            if (c == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
            continue;
        }
        if (c == '"') {
            if (!cell.text.empty() || quoted) {
                result.error = std::to_string(line) + ":" + std::to_string(column) +
                               ": a quote inside an unquoted field (quote the whole field and double the quote)";
                return result;
            }
            in_quotes = quoted = row_has_content = true;
            ++column;
        } else if (c == ',') {
            end_cell();
            row_has_content = true;
            ++column;
        } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            continue;  // the \n ends the row
        } else if (c == '\n') {
            end_row();
            ++line;
            column = 1;
        } else {
            if (quoted) {
                result.error = std::to_string(line) + ":" + std::to_string(column) + ": text after a closing quote";
                return result;
            }
            cell.text += c;
            row_has_content = true;
            ++column;
        }
    }
    if (in_quotes) {
        result.error = std::to_string(cell.line) + ":" + std::to_string(cell.column) + ": a quoted field is never closed";
        return result;
    }
    if (cell_started || !row.empty()) end_row();
    return result;
}

int run_import(const import_options& options, std::ostream& out, std::ostream& err) {
    auto type = model::event_type_from(options.type);
    if (!type || (*type != model::event_type::account && *type != model::event_type::user)) {
        err << "--type must be account or user, not \"" << options.type << "\"\n";
        return 2;
    }
    if (options.url.empty() && !options.dry_run) {
        err << "--url is required (the service, e.g. http://127.0.0.1:8080), unless --dry-run\n";
        return 2;
    }
    std::ifstream in(options.file, std::ios::binary);
    if (!in) {
        err << options.file << ": cannot read\n";
        return 2;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    auto csv = parse_csv(buffer.str());
    if (!csv.error.empty()) {
        err << options.file << ":" << csv.error << "\n";
        return 1;
    }
    if (csv.rows.size() < 2) {
        err << options.file << ": needs a header line and at least one row\n";
        return 1;
    }

    // Plan each column.
    const auto& header = csv.rows[0];
    std::vector<column_plan> plan(header.size());
    std::set<std::string> used_maps;
    std::vector<std::string> left_out;
    int key_column = -1;
    for (std::size_t c = 0; c < header.size(); ++c) {
        const std::string name = trim(header[c].text);
        if (name == options.key) key_column = int(c);
        std::string field;
        if (auto m = options.map.find(name); m != options.map.end()) {
            field = m->second;
            used_maps.insert(name);
        } else {
            field = snake_name(name);
        }
        if (field == "-") continue;
        if (field.rfind("attributes.", 0) == 0 && field.size() > 11 && *type == model::event_type::account) {
            plan[c].field = "attributes";
            plan[c].attribute = field.substr(11);
        } else if (field == "account" || field == "at" || field == "id") {
            plan[c].field = field;
        } else if (const auto* spec = model::find_field(*type, field)) {
            plan[c].field = field;
            plan[c].spec = spec;
        } else {
            left_out.push_back(name);
        }
    }
    for (const auto& [column, field] : options.map)
        if (!used_maps.count(column)) {
            err << options.file << ":" << header.front().line << ":1: --map names column \"" << column
                << "\", which the header does not have\n";
            return 1;
        }
    if (!options.key.empty() && key_column < 0) {
        err << options.file << ":" << header.front().line << ":1: --key names column \"" << options.key
            << "\", which the header does not have\n";
        return 1;
    }
    for (const auto& name : left_out)
        err << "note: column \"" << name << "\" is not a field of " << options.type << " events: left out (--map it)\n";

    // Rows -> JSON objects; conversion problems carry their cell.
    std::vector<row_problem> problems;
    std::vector<ingest::decoded_item> items;
    std::vector<const std::vector<csv_cell>*> source_rows;
    for (std::size_t r = 1; r < csv.rows.size(); ++r) {
        const auto& row = csv.rows[r];
        if (row.size() != header.size()) {
            problems.push_back({row.front().line, 1,
                                "has " + std::to_string(row.size()) + " fields, the header " + std::to_string(header.size())});
            continue;
        }
        json::object event{{"type", options.type}};
        json::object attributes;
        for (std::size_t c = 0; c < row.size(); ++c) {
            const auto& p = plan[c];
            const std::string cell = trim(row[c].text);
            if (p.field.empty() || cell.empty()) continue;
            if (p.field == "attributes") {
                attributes[p.attribute] = cell;
            } else if (!p.spec) {
                event[p.field] = cell;
            } else {
                std::string why;
                if (auto v = convert(cell, *p.spec, why)) event[p.field] = std::move(*v);
                else problems.push_back({row[c].line, row[c].column, p.field + " " + why});
            }
        }
        if (!attributes.empty()) event["attributes"] = std::move(attributes);
        if (key_column >= 0 && !trim(row[std::size_t(key_column)].text).empty())
            event["id"] = "import:" + options.type + ":" + trim(row[std::size_t(key_column)].text);
        items.push_back({json::value(std::move(event)), source_rows.size()});
        source_rows.push_back(&row);
    }

    // The service's own validation, with each problem placed at its cell.
    auto validated = ingest::validate(std::move(items), timestamp{});
    for (const auto& p : validated.problems) {
        const auto& row = *source_rows[p.index];
        std::size_t column = 1;
        const std::string top = p.field.substr(0, p.field.find_first_of(".["));
        for (std::size_t c = 0; c < plan.size(); ++c)
            if (plan[c].field == top) column = row[c].column;
        problems.push_back({row.front().line, column, (p.field.empty() ? "" : p.field + " ") + p.message});
    }
    if (!problems.empty()) {
        std::sort(problems.begin(), problems.end(),
                  [](const auto& a, const auto& b) { return std::tie(a.line, a.column) < std::tie(b.line, b.column); });
        for (const auto& p : problems) err << options.file << ":" << p.line << ":" << p.column << ": " << p.message << "\n";
        err << problems.size() << " problem" << (problems.size() == 1 ? "" : "s") << ": nothing was sent\n";
        return 1;
    }

    // The events as the service will see them, with their ids; no `at` (the service
    // uses the time it receives them, and a content id does not depend on it).
    std::vector<json::object> events;
    for (const auto& e : validated.events) {
        json::object o{{"type", options.type}, {"account", e.account}, {"id", e.id}};
        for (const auto& kv : e.fields) o[kv.key()] = kv.value();
        events.push_back(std::move(o));
    }
    if (options.dry_run) {
        for (const auto& e : events) out << json::serialize(e) << "\n";
        return 0;
    }

    std::string url = options.url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (url.size() < 10 || url.substr(url.size() - 10) != "/v1/events") url += "/v1/events";
    delivery::channels::header_list headers;
    if (const char* token = std::getenv("REDFLAG_TOKEN"); token && *token)
        headers.emplace_back("Authorization", std::string("Bearer ") + token);
    delivery::channels::http_options http;
    http.timeout = 120 * seconds_ms;
    delivery::channels::http_client client(http);
    std::size_t accepted = 0, duplicates = 0;
    const std::size_t batch = std::max<std::size_t>(1, std::min<std::size_t>(options.batch, 10'000));
    for (std::size_t first = 0; first < events.size(); first += batch) {
        json::array body;
        for (std::size_t i = first; i < std::min(events.size(), first + batch); ++i) body.push_back(events[i]);
        auto res = client.post_json(url, json::serialize(body), headers);
        if (res.status != 202) {
            err << url << ": rows " << first + 1 << " to " << first + body.size() << " refused: "
                << (res.status ? std::to_string(res.status) + " " + res.body : res.error) << "\n";
            if (first) err << "the " << first << " rows before were stored; running the import again is safe\n";
            return 1;
        }
        boost::system::error_code ec;
        auto answer = json::parse(res.body, ec);
        if (!ec && answer.is_object()) {
            if (auto* a = answer.as_object().if_contains("accepted"); a && a->is_number()) accepted += a->to_number<std::size_t>();
            if (auto* d = answer.as_object().if_contains("duplicates"); d && d->is_number())
                duplicates += d->to_number<std::size_t>();
        }
    }
    out << "imported " << events.size() << " " << options.type << " rows from " << options.file << ": " << accepted
        << " accepted, " << duplicates << " duplicates\n";
    return 0;
}

}  // namespace redflag::app
