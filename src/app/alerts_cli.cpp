#include "app/alerts_cli.hpp"

#include "core/time.hpp"
#include "delivery/channels/http_client.hpp"

#include <boost/json.hpp>

#include <iomanip>
#include <ostream>

namespace redflag::app {
namespace {

namespace json = boost::json;
using delivery::channels::header_list;
using delivery::channels::http_client;
using delivery::channels::http_response;
using delivery::channels::url_encode;

std::string base(const remote_options& r) {
    std::string url = r.url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

header_list auth(const remote_options& r) {
    if (r.token.empty()) return {};
    return {{"Authorization", "Bearer " + r.token}};
}

http_client client() {
    delivery::channels::http_options options;
    options.connect_timeout = 5 * seconds_ms;
    options.timeout = 30 * seconds_ms;
    return http_client(options);
}

// The body as JSON when the status is 2xx; else prints the service's error and gives nullopt.
std::optional<json::value> answer(const http_response& res, const std::string& what, std::ostream& err) {
    if (res.status == 0) {
        err << "redflag: " << what << ": cannot reach the service: " << res.error << "\n";
        return std::nullopt;
    }
    boost::system::error_code ec;
    json::value body = res.body.empty() ? json::value() : json::parse(res.body, ec);
    if (res.status >= 200 && res.status < 300 && !ec) return body;
    std::string message = res.body;
    if (!ec && body.is_object())
        if (auto* e = body.as_object().if_contains("error"); e && e->is_string()) message = std::string(e->as_string());
    err << "redflag: " << what << ": the service answered " << res.status << ": " << message << "\n";
    if (res.status == 401 || res.status == 403) err << "  (set REDFLAG_TOKEN to a token of api.write_tokens)\n";
    return std::nullopt;
}

std::string text(const json::object& o, std::string_view key) {
    if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->as_string());
    return {};
}

// "acked by liam", "snoozed by liam until …", or "".
std::string status_of(const json::object& a) {
    if (auto* acks = a.if_contains("acks"); acks && acks->is_array() && !acks->as_array().empty()) {
        const auto& last = acks->as_array().back();
        if (last.is_object()) return "acked by " + text(last.as_object(), "by");
    }
    if (auto* snoozes = a.if_contains("snoozes"); snoozes && snoozes->is_array() && !snoozes->as_array().empty()) {
        const auto& last = snoozes->as_array().back();
        if (last.is_object() && !last.as_object().contains("woke_at")) {
            std::string out = "snoozed by " + text(last.as_object(), "by") + " until " + text(last.as_object(), "until");
            if (auto w = text(last.as_object(), "wake_if"); !w.empty()) out += " (wake if " + w + ")";
            return out;
        }
    }
    return {};
}

int post(const remote_options& remote, const std::string& path, const json::object& body, const std::string& what,
         json::value& result, std::ostream& err) {
    auto http = client();
    auto res = http.post_json(base(remote) + path, json::serialize(body), auth(remote));
    auto got = answer(res, what, err);
    if (!got) return 1;
    result = std::move(*got);
    return 0;
}

}  // namespace

int run_alerts_list(const remote_options& remote, const alert_query& q, std::ostream& out, std::ostream& err) {
    header_list query;
    if (!q.state.empty()) query.emplace_back("state", q.state);
    if (!q.csm.empty()) query.emplace_back("csm", q.csm);
    if (!q.rule.empty()) query.emplace_back("rule", q.rule);
    if (!q.account.empty()) query.emplace_back("account", q.account);
    auto http = client();
    auto got = answer(http.get(base(remote) + "/v1/alerts", query, auth(remote)), "alerts", err);
    if (!got) return 1;
    if (remote.json) {
        out << json::serialize(*got) << "\n";
        return 0;
    }
    const json::array empty;
    const auto* list = got->is_object() ? got->as_object().if_contains("alerts") : nullptr;
    const auto& alerts = list && list->is_array() ? list->as_array() : empty;
    out << std::left << std::setw(34) << "ID" << std::setw(10) << "STATE" << std::setw(10) << "SEVERITY"
        << std::setw(26) << "RULE" << std::setw(22) << "ACCOUNT" << std::setw(26) << "SINCE" << "STATUS\n";
    for (const auto& item : alerts) {
        if (!item.is_object()) continue;
        const auto& a = item.as_object();
        std::string since = text(a, "firing_since");
        if (since.empty()) since = text(a, "started_at");
        std::string account = text(a, "account_name");
        if (account.empty()) account = text(a, "account");
        out << std::setw(34) << text(a, "id") << std::setw(10) << text(a, "state") << std::setw(10)
            << text(a, "severity") << std::setw(26) << text(a, "rule") << std::setw(22) << account << std::setw(26)
            << since << status_of(a) << "\n";
    }
    return 0;
}

int run_ack(const remote_options& remote, const std::string& id, const std::string& comment, std::ostream& out,
            std::ostream& err) {
    json::value result;
    json::object body{{"by", remote.by}};
    if (!comment.empty()) body["comment"] = comment;
    if (int rc = post(remote, "/v1/alerts/" + url_encode(id) + "/ack", body, "ack " + id, result, err)) return rc;
    out << "acknowledged " << id << " as " << remote.by << "\n";
    return 0;
}

int run_snooze(const remote_options& remote, const std::string& id, const std::string& length,
               const std::string& wake_if, const std::string& comment, std::ostream& out, std::ostream& err) {
    if (!parse_duration(length)) {
        err << "redflag snooze: --for must be a duration such as 7d or 12h, not \"" << length << "\"\n";
        return 2;
    }
    json::object body{{"for", length}, {"by", remote.by}};
    if (!wake_if.empty()) body["wake_if"] = wake_if;
    if (!comment.empty()) body["comment"] = comment;
    json::value result;
    if (int rc = post(remote, "/v1/alerts/" + url_encode(id) + "/snooze", body, "snooze " + id, result, err)) return rc;
    std::string until;
    if (result.is_object())
        if (auto* s = result.as_object().if_contains("snoozes"); s && s->is_array() && !s->as_array().empty() &&
                                                                 s->as_array().back().is_object())
            until = text(s->as_array().back().as_object(), "until");
    out << "snoozed " << id << " until " << until << (wake_if.empty() ? "" : ", or until " + wake_if) << "\n";
    return 0;
}

int run_silence_add(const remote_options& remote, const silence_request& r, std::ostream& out, std::ostream& err) {
    if (r.rule.empty() && r.account.empty()) {
        err << "redflag silence add: give --rule, --account or both (what to silence)\n";
        return 2;
    }
    if (r.reason.empty()) {
        err << "redflag silence add: --reason is required (why it is silenced)\n";
        return 2;
    }
    std::string until = r.until;
    if (until.empty() == r.length.empty()) {
        err << "redflag silence add: give --until TIME or --for DURATION\n";
        return 2;
    }
    if (!r.length.empty()) {
        auto d = parse_duration(r.length);
        if (!d || *d <= duration::zero()) {
            err << "redflag silence add: --for must be a duration such as 2h, not \"" << r.length << "\"\n";
            return 2;
        }
        until = format_rfc3339(system_clock().now() + *d);
    }
    json::object body{{"until", until}, {"reason", r.reason}, {"by", remote.by}};
    if (!r.rule.empty()) body["rule"] = r.rule;
    if (!r.account.empty()) body["account"] = r.account;
    json::value result;
    if (int rc = post(remote, "/v1/silences", body, "silence add", result, err)) return rc;
    if (remote.json) out << json::serialize(result) << "\n";
    else if (result.is_object()) out << text(result.as_object(), "id") << "\n";
    return 0;
}

int run_silence_list(const remote_options& remote, std::ostream& out, std::ostream& err) {
    auto http = client();
    auto got = answer(http.get(base(remote) + "/v1/silences", {}, auth(remote)), "silence list", err);
    if (!got) return 1;
    if (remote.json) {
        out << json::serialize(*got) << "\n";
        return 0;
    }
    const auto* list = got->is_object() ? got->as_object().if_contains("silences") : nullptr;
    out << std::left << std::setw(34) << "ID" << std::setw(9) << "STATE" << std::setw(26) << "UNTIL" << std::setw(22)
        << "RULE" << std::setw(18) << "ACCOUNT" << std::setw(14) << "BY" << "REASON\n";
    if (list && list->is_array())
        for (const auto& item : list->as_array()) {
            if (!item.is_object()) continue;
            const auto& s = item.as_object();
            auto or_any = [](std::string v) { return v.empty() ? std::string("*") : v; };
            out << std::setw(34) << text(s, "id") << std::setw(9) << text(s, "state") << std::setw(26)
                << text(s, "until") << std::setw(22) << or_any(text(s, "rule")) << std::setw(18)
                << or_any(text(s, "account")) << std::setw(14) << text(s, "by") << text(s, "reason") << "\n";
        }
    return 0;
}

int run_report_weekly(const remote_options& remote, const std::string& csm, const std::string& format,
                      std::ostream& out, std::ostream& err) {
    if (format != "text" && format != "html" && format != "json") {
        err << "redflag report weekly: --format must be text, html or json, not \"" << format << "\"\n";
        return 2;
    }
    header_list query{{"format", format}};
    if (!csm.empty()) query.emplace_back("csm", csm);
    auto http = client();
    auto res = http.get(base(remote) + "/v1/reports/weekly", query, auth(remote));
    if (res.status < 200 || res.status >= 300) {
        answer(res, "report weekly", err);  // prints why
        return 1;
    }
    out << res.body;
    if (format == "json") out << "\n";
    return 0;
}

int run_report_account(const remote_options& remote, const std::string& id, int days, const std::string& format,
                       std::ostream& out, std::ostream& err) {
    if (format != "text" && format != "json") {
        err << "redflag report account: --format must be text or json, not \"" << format << "\"\n";
        return 2;
    }
    if (days < 1 || days > 400) {
        err << "redflag report account: --days must be from 1 to 400\n";
        return 2;
    }
    auto http = client();
    auto res = http.get(base(remote) + "/v1/reports/account/" + url_encode(id),
                        {{"format", format}, {"days", std::to_string(days)}}, auth(remote));
    if (res.status < 200 || res.status >= 300) {
        answer(res, "report account " + id, err);  // prints why
        return 1;
    }
    out << res.body;
    if (format == "json") out << "\n";
    return 0;
}

int run_silence_expire(const remote_options& remote, const std::string& id, std::ostream& out, std::ostream& err) {
    auto http = client();
    if (!answer(http.del(base(remote) + "/v1/silences/" + url_encode(id), auth(remote)), "silence expire " + id, err))
        return 1;
    out << "expired " << id << "\n";
    return 0;
}

}  // namespace redflag::app
