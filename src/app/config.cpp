#include "app/config.hpp"

#include "alerts/silences.hpp"
#include "delivery/digest.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace redflag::app {
namespace {

// ${VAR} may stand anywhere, also where YAML would not accept '{' (inside a flow
// sequence, as in the spec's `tokens: [${REDFLAG_TOKEN}]`). So references are replaced by
// placeholders before parsing and expanded in each scalar afterwards. `${VAR:-default}`
// gives a default; `$${` is a literal `${`.
constexpr std::string_view placeholder_prefix = "__redflag_env_";

// One ${VAR} of the text. An unset variable is an error only where its placeholder is
// read as a value: one in a comment (an example left commented out) costs nothing.
struct environment_reference {
    std::string name;
    std::optional<std::string> value;  // nullopt: not set and no default
    std::string where;                 // "file:line:col"
};

struct expansion {
    std::string text;                               // the YAML with placeholders
    std::vector<environment_reference> references;  // placeholder index → reference
};

expansion substitute_environment(const std::string& text, const std::string& source, const environment_lookup& env,
                                 std::vector<std::string>& errors) {
    expansion out;
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < text.size();) {
        if (text.compare(i, 3, "$${") == 0) {
            out.text += "${";
            i += 3;
            column += 3;
            continue;
        }
        if (text.compare(i, 2, "${") == 0) {
            auto close = text.find('}', i + 2);
            if (close == std::string::npos || text.find('\n', i) < close) {
                errors.push_back(source + ":" + std::to_string(line) + ":" + std::to_string(column) +
                                 ": unterminated ${ in an environment reference");
                out.text += text.substr(i, 2);
                i += 2;
                continue;
            }
            std::string inner = text.substr(i + 2, close - i - 2);
            std::optional<std::string> fallback;
            if (auto dash = inner.find(":-"); dash != std::string::npos) {
                fallback = inner.substr(dash + 2);
                inner = inner.substr(0, dash);
            }
            auto value = env(inner);
            if (!value || (value->empty() && fallback)) value = fallback;
            out.text += std::string(placeholder_prefix) + std::to_string(out.references.size()) + "__";
            out.references.push_back(
                {inner, std::move(value), source + ":" + std::to_string(line) + ":" + std::to_string(column)});
            column += close + 1 - i;
            i = close + 1;
            continue;
        }
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
        out.text += text[i++];
    }
    return out;
}

class reader {
public:
    reader(std::string source, const expansion& exp, std::vector<std::string>& errors)
        : source_(std::move(source)), exp_(exp), errors_(errors) {}

    std::string where(const YAML::Node& node) const {
        auto mark = node.Mark();
        if (mark.is_null()) return source_;
        return source_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }

    void error(const YAML::Node& node, const std::string& message) { errors_.push_back(where(node) + ": " + message); }

    // Expands placeholders in one scalar.
    std::string expand(const std::string& raw) const {
        std::string out;
        for (std::size_t i = 0; i < raw.size();) {
            if (raw.compare(i, placeholder_prefix.size(), placeholder_prefix) == 0) {
                auto end = raw.find("__", i + placeholder_prefix.size());
                if (end != std::string::npos) {
                    auto index = std::stoul(raw.substr(i + placeholder_prefix.size(), end - i - placeholder_prefix.size()));
                    if (index < exp_.references.size()) {
                        const auto& ref = exp_.references[index];
                        if (ref.value) out += *ref.value;
                        else errors_.push_back(ref.where + ": environment variable " + ref.name + " is not set");
                        i = end + 2;
                        continue;
                    }
                }
            }
            out += raw[i++];
        }
        return out;
    }

    // Checks that `node` is a mapping whose keys are all in `allowed`.
    bool mapping(const YAML::Node& node, const std::string& what, std::initializer_list<std::string_view> allowed) {
        if (!node.IsMap()) {
            error(node, what + " must be a mapping");
            return false;
        }
        for (const auto& entry : node) {
            auto key = entry.first.Scalar();
            bool known = false;
            for (auto a : allowed) known = known || a == key;
            if (!known) {
                std::string list;
                for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
                error(entry.first, "unknown key \"" + key + "\" in " + what + "; expected one of " + list);
            }
        }
        return true;
    }

    std::optional<std::string> string(const YAML::Node& node, const std::string& what) {
        if (!node.IsScalar()) {
            error(node, what + " must be a string");
            return std::nullopt;
        }
        return expand(node.Scalar());
    }

    void read(const YAML::Node& node, const std::string& what, std::string& out) {
        if (auto v = string(node, what)) out = *v;
    }

    void read(const YAML::Node& node, const std::string& what, bool& out) {
        auto v = string(node, what);
        if (!v) return;
        if (*v == "true" || *v == "yes" || *v == "on") out = true;
        else if (*v == "false" || *v == "no" || *v == "off") out = false;
        else error(node, what + " must be true or false, not \"" + *v + "\"");
    }

    template <typename Int>
    void read_int(const YAML::Node& node, const std::string& what, Int& out, long long min, long long max) {
        auto v = string(node, what);
        if (!v) return;
        try {
            std::size_t used = 0;
            long long n = std::stoll(*v, &used);
            if (used != v->size() || n < min || n > max) throw std::out_of_range(*v);
            out = static_cast<Int>(n);
        } catch (const std::exception&) {
            error(node, what + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                            ", not \"" + *v + "\"");
        }
    }

    void read(const YAML::Node& node, const std::string& what, duration& out) {
        auto v = string(node, what);
        if (!v) return;
        if (auto d = parse_duration(*v)) out = *d;
        else error(node, what + " must be a duration such as 60s, 24h or 1d12h, not \"" + *v + "\"");
    }

    void read_bytes(const YAML::Node& node, const std::string& what, std::uint64_t& out) {
        auto v = string(node, what);
        if (!v) return;
        if (auto n = parse_byte_size(*v)) out = *n;
        else error(node, what + " must be a size such as 4MiB or 512KiB, not \"" + *v + "\"");
    }

    void read_ratio(const YAML::Node& node, const std::string& what, double& out) {
        auto v = string(node, what);
        if (!v) return;
        try {
            std::string text = *v;
            bool percent = !text.empty() && text.back() == '%';
            if (percent) text.pop_back();
            std::size_t used = 0;
            double x = std::stod(text, &used);
            if (used != text.size()) throw std::invalid_argument(text);
            if (percent) x /= 100;
            if (x < 0 || x > 1) throw std::out_of_range(text);
            out = x;
        } catch (const std::exception&) {
            error(node, what + " must be a ratio such as 80% or 0.8, not \"" + *v + "\"");
        }
    }

    void read_number(const YAML::Node& node, const std::string& what, double& out) {
        auto v = string(node, what);
        if (!v) return;
        try {
            std::size_t used = 0;
            out = std::stod(*v, &used);
            if (used != v->size() || out < 0) throw std::invalid_argument(*v);
        } catch (const std::exception&) {
            error(node, what + " must be a number ≥ 0, not \"" + *v + "\"");
        }
    }

    void read_list(const YAML::Node& node, const std::string& what, std::vector<std::string>& out) {
        if (node.IsScalar()) {  // a single value stands for a list of one
            out = {expand(node.Scalar())};
            return;
        }
        if (!node.IsSequence()) {
            error(node, what + " must be a list of strings");
            return;
        }
        out.clear();
        for (const auto& item : node)
            if (auto v = string(item, what + " item")) out.push_back(*v);
    }

private:
    std::string source_;
    const expansion& exp_;
    std::vector<std::string>& errors_;
};

void read_listen(reader& r, const YAML::Node& node, config& c) {
    auto v = r.string(node, "listen");
    if (!v) return;
    auto colon = v->rfind(':');
    if (colon == std::string::npos) {
        r.error(node, "listen must be HOST:PORT, such as 127.0.0.1:8080");
        return;
    }
    std::string host = v->substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    c.listen_host = host.empty() ? "0.0.0.0" : host;
    try {
        std::size_t used = 0;
        auto port = std::stoul(v->substr(colon + 1), &used);
        if (used != v->size() - colon - 1 || port > 65535) throw std::out_of_range(*v);
        c.listen_port = static_cast<std::uint16_t>(port);
    } catch (const std::exception&) {
        r.error(node, "listen port must be from 0 to 65535 in \"" + *v + "\"");
    }
}

// `group_by: [account]`: only a bot-token Slack channel can keep a card per account (it
// rewrites it with chat.update); an incoming webhook cannot edit what it posted, and an
// email or a webhook has no card. Refused there with a message rather than ignored.
void read_group_by(reader& r, const YAML::Node& node, const std::string& what, channel_config& ch) {
    auto g = node["group_by"];
    if (!g) return;
    if (ch.type != "slack") {
        r.error(g, what + " group_by applies to type slack only (a card per account is rewritten with chat.update); "
                          "type " + ch.type + " sends one message per alert");
        return;
    }
    if (!g.IsSequence()) {
        r.error(g, what + " group_by must be a list, such as [account]");
        return;
    }
    for (const auto& item : g) {
        auto v = r.string(item, what + " group_by");
        if (!v) continue;
        if (*v != "account") {
            r.error(item, what + " group_by can only name account for now, not \"" + *v + "\"");
            continue;
        }
        if (std::find(ch.group_by.begin(), ch.group_by.end(), *v) == ch.group_by.end()) ch.group_by.push_back(*v);
    }
    if (ch.group_by.empty()) r.error(g, what + " group_by must name account, such as [account]");
}

// `match: ['severity=~"high|critical"']`: the alerts a channel receives besides the rules
// that name it, as Alertmanager matchers (alerts/silences.hpp), each checked here.
void read_match(reader& r, const YAML::Node& node, const std::string& what, channel_config& ch) {
    auto m = node["match"];
    if (!m) return;
    if (!m.IsSequence()) {
        r.error(m, what + " match must be a list of matchers, such as ['severity=~\"high|critical\"']");
        return;
    }
    for (const auto& item : m) {
        auto v = r.string(item, what + " match");
        if (!v) continue;
        std::string error;
        if (!alerts::parse_matcher(*v, error)) r.error(item, what + " match \"" + *v + "\": " + error);
        else ch.match.push_back(*v);
    }
    if (m.size() == 0) r.error(m, what + " match must hold at least one matcher");
}

void read_channel(reader& r, const std::string& name, const YAML::Node& node, config& c) {
    channel_config ch;
    ch.name = name;
    std::string what = "channel " + name;
    if (!node.IsMap()) {
        r.error(node, what + " must be a mapping");
        return;
    }
    if (!node["type"]) {
        r.error(node, what + " needs a type: slack, slack_webhook, email or webhook");
        return;
    }
    r.read(node["type"], what + " type", ch.type);
    if (ch.type == "slack") {
        r.mapping(node, what, {"type", "token", "channel", "mention_owner", "api_url", "signing_secret", "group_by", "match"});
        if (node["signing_secret"]) r.read(node["signing_secret"], what + " signing_secret", ch.signing_secret);
        if (node["token"]) r.read(node["token"], what + " token", ch.token);
        if (node["channel"]) r.read(node["channel"], what + " channel", ch.channel);
        if (node["mention_owner"]) r.read(node["mention_owner"], what + " mention_owner", ch.mention_owner);
        if (node["api_url"]) r.read(node["api_url"], what + " api_url", ch.api_url);
        if (ch.channel.empty()) r.error(node, what + " needs a channel, such as \"#cs-red-flags\"");
    } else if (ch.type == "slack_webhook") {
        r.mapping(node, what, {"type", "url", "group_by", "match"});
        if (node["url"]) r.read(node["url"], what + " url", ch.url);
        if (ch.url.empty()) r.error(node, what + " needs a url");
    } else if (ch.type == "webhook") {
        r.mapping(node, what, {"type", "url", "format", "headers", "resend", "group_by", "match"});
        if (node["url"]) r.read(node["url"], what + " url", ch.url);
        if (node["format"]) r.read(node["format"], what + " format", ch.format);
        if (ch.format != "redflag" && ch.format != "alertmanager")
            r.error(node["format"], what + " format must be redflag or alertmanager, not \"" + ch.format + "\"");
        // How often firing alerts are posted to Alertmanager again (alerts.md's webhook).
        if (auto n = node["resend"]) {
            r.read(n, what + " resend", ch.resend);
            if (ch.format != "alertmanager") r.error(n, what + " resend applies to format alertmanager only");
            else if (ch.resend <= duration::zero()) r.error(n, what + " resend must be more than 0s");
        }
        if (auto h = node["headers"]) {
            if (!h.IsMap()) r.error(h, what + " headers must be a mapping");
            else
                for (const auto& e : h)
                    if (auto v = r.string(e.second, what + " header")) ch.headers[e.first.Scalar()] = *v;
        }
        if (ch.url.empty()) r.error(node, what + " needs a url");
    } else if (ch.type == "email") {
        r.mapping(node, what, {"type", "to", "smtp", "digest", "report", "group_by", "match"});
        if (node["to"]) r.read(node["to"], what + " to", ch.to);
        if (node["digest"]) r.read(node["digest"], what + " digest", ch.digest);
        if (ch.to.empty()) r.error(node, what + " needs a to, such as \"{account.csm_email}\"");
        if (!ch.digest.empty())
            if (auto why = delivery::digest_schedule::check_spec(ch.digest); !why.empty())
                r.error(node["digest"], what + " digest " + why);
        // The weekly report by email (README "The weekly report"): to a fixed address.
        if (node["report"]) {
            r.read(node["report"], what + " report", ch.report);
            if (auto why = delivery::digest_schedule::check_spec(ch.report); !why.empty())
                r.error(node["report"], what + " report " + why);
            else if (ch.to.find('{') != std::string::npos)
                r.error(node["to"], what + " to must be fixed addresses for a report, not a template (\"" + ch.to + "\")");
        }
        if (auto s = node["smtp"]; s && r.mapping(s, what + " smtp",
                                                 {"host", "port", "starttls", "tls", "username", "password", "from"})) {
            if (s["host"]) r.read(s["host"], what + " smtp host", ch.smtp.host);
            if (s["port"]) r.read_int(s["port"], what + " smtp port", ch.smtp.port, 1, 65535);
            if (s["starttls"]) r.read(s["starttls"], what + " smtp starttls", ch.smtp.starttls);
            if (s["tls"]) r.read(s["tls"], what + " smtp tls", ch.smtp.tls);
            if (s["username"]) r.read(s["username"], what + " smtp username", ch.smtp.username);
            if (s["password"]) r.read(s["password"], what + " smtp password", ch.smtp.password);
            if (s["from"]) r.read(s["from"], what + " smtp from", ch.smtp.from);
        } else if (!s) {
            r.error(node, what + " needs smtp: {host, port, from, ...}");
        }
        if (ch.smtp.host.empty() && node["smtp"]) r.error(node["smtp"], what + " smtp needs a host");
    } else {
        r.error(node["type"], what + " type must be slack, slack_webhook, email or webhook, not \"" + ch.type + "\"");
        return;
    }
    read_group_by(r, node, what, ch);
    read_match(r, node, what, ch);
    c.channels[name] = std::move(ch);
}

// A mapping of string to string (adapters' accounts, products, metrics, properties).
void read_string_map(reader& r, const YAML::Node& node, const std::string& what, std::map<std::string, std::string>& out) {
    if (!node.IsMap()) {
        r.error(node, what + " must be a mapping of strings");
        return;
    }
    for (const auto& e : node)
        if (auto v = r.string(e.second, what + "." + e.first.Scalar())) out[r.expand(e.first.Scalar())] = *v;
}

// One vendor of `adapters:`. Each vendor takes the common keys and its own.
void read_adapter(reader& r, const std::string& vendor, const YAML::Node& node, config& c) {
    using ingest::adapters::adapter_config;
    const std::string what = "adapters." + vendor;
    static const std::map<std::string, std::vector<std::string_view>> own_keys{
        {"stripe", {"products", "seat_products", "currency", "rates"}},
        {"zendesk", {}},
        {"segment", {"metrics", "role_trait", "plan_trait", "seats_trait"}},
        {"hubspot", {"public_url", "owners", "properties"}},
        {"delighted", {"account_property"}}};
    auto own = own_keys.find(vendor);
    if (own == own_keys.end()) {
        r.error(node, "unknown vendor \"" + vendor + "\" in adapters; expected one of stripe, zendesk, segment, hubspot, delighted");
        return;
    }
    if (!node.IsMap()) {
        r.error(node, what + " must be a mapping");
        return;
    }
    std::vector<std::string_view> allowed{"secret", "insecure", "tolerance", "accounts", "vendor_ids"};
    allowed.insert(allowed.end(), own->second.begin(), own->second.end());
    for (const auto& entry : node) {
        auto key = entry.first.Scalar();
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            std::string list;
            for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
            r.error(entry.first, "unknown key \"" + key + "\" in " + what + "; expected one of " + list);
        }
    }
    adapter_config a;
    a.vendor = vendor;
    if (auto n = node["secret"]) r.read(n, what + ".secret", a.secret);
    if (auto n = node["insecure"]) r.read(n, what + ".insecure", a.insecure);
    if (auto n = node["tolerance"]) {
        r.read(n, what + ".tolerance", a.tolerance);
        if (a.tolerance <= duration::zero()) r.error(n, what + ".tolerance must be more than 0s");
    }
    if (auto n = node["accounts"]) read_string_map(r, n, what + ".accounts", a.accounts);
    if (auto n = node["vendor_ids"]) r.read(n, what + ".vendor_ids", a.vendor_ids);
    if (auto n = node["products"]) read_string_map(r, n, what + ".products", a.products);
    if (auto n = node["seat_products"]) r.read_list(n, what + ".seat_products", a.seat_products);
    if (auto n = node["currency"]) {
        r.read(n, what + ".currency", a.currency);
        for (auto& ch : a.currency) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (a.currency.size() != 3) r.error(n, what + ".currency must be a three-letter ISO code such as usd");
    }
    if (auto n = node["rates"]) {
        if (!n.IsMap()) r.error(n, what + ".rates must be a mapping of currency to rate");
        else
            for (const auto& e : n) {
                double rate = 0;
                r.read_number(e.second, what + ".rates." + e.first.Scalar(), rate);
                std::string code = e.first.Scalar();
                for (auto& ch : code) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                a.rates[code] = rate;
            }
    }
    if (auto n = node["metrics"]) read_string_map(r, n, what + ".metrics", a.metrics);
    if (auto n = node["role_trait"]) r.read(n, what + ".role_trait", a.role_trait);
    if (auto n = node["plan_trait"]) r.read(n, what + ".plan_trait", a.plan_trait);
    if (auto n = node["seats_trait"]) r.read(n, what + ".seats_trait", a.seats_trait);
    if (auto n = node["public_url"]) {
        r.read(n, what + ".public_url", a.public_url);
        if (a.public_url.rfind("http://", 0) != 0 && a.public_url.rfind("https://", 0) != 0)
            r.error(n, what + ".public_url must be the full URL HubSpot calls, such as https://cs.example.com/v1/hooks/hubspot");
    }
    if (auto n = node["owners"]) {
        if (!n.IsMap()) r.error(n, what + ".owners must be a mapping of owner id to {name, email}");
        else
            for (const auto& e : n) {
                const std::string owner_what = what + ".owners." + e.first.Scalar();
                if (!r.mapping(e.second, owner_what, {"name", "email"})) continue;
                ingest::adapters::owner o;
                if (e.second["name"]) r.read(e.second["name"], owner_what + ".name", o.name);
                if (e.second["email"]) r.read(e.second["email"], owner_what + ".email", o.email);
                if (o.name.empty()) r.error(e.second, owner_what + " needs a name");
                a.owners[e.first.Scalar()] = o;
            }
    }
    if (auto n = node["properties"]) {
        read_string_map(r, n, what + ".properties", a.properties);
        static const std::set<std::string> targets{"name", "csm", "segment", "plan", "industry", "employees", "seats"};
        if (n.IsMap())
            for (const auto& e : n) {
                auto target = a.properties[e.first.Scalar()];
                if (!targets.count(target) && !(target.rfind("attributes.", 0) == 0 && target.size() > 11))
                    r.error(e.second, what + ".properties." + e.first.Scalar() +
                                          " must be one of name, csm, segment, plan, industry, employees, seats, "
                                          "attributes.<key>, not \"" + target + "\"");
            }
    }
    if (auto n = node["account_property"]) r.read(n, what + ".account_property", a.account_property);
    if (a.secret.empty() && !a.insecure)
        r.error(node["secret"] ? node["secret"] : node,
                what + " needs a secret, the vendor's signing secret (or insecure: true to accept unsigned requests)");
    c.adapters[vendor] = std::move(a);
}

bool is_name(const std::string& text) {
    return !text.empty() && text.size() <= 200 && std::all_of(text.begin(), text.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
    });
}

// The `cluster:` block (issue 17). Everything that would only fail later, against the NATS
// servers, is checked here with its line: URLs, names that become JetStream asset names and
// key-value keys, authentication that nats.c cannot combine, lease timings.
void read_cluster(reader& r, const YAML::Node& n, config& c) {
    if (!r.mapping(n, "cluster",
                   {"nats", "name", "partitions", "replicas", "node", "roles", "credentials", "user", "password", "token",
                    "tls", "lease_ttl", "renew_interval", "publish_timeout", "duplicate_window", "stream_max_age",
                    "consumer_heartbeat", "snapshot_chunk", "start_timeout"}))
        return;
    cluster::options o;
    if (n["nats"]) r.read_list(n["nats"], "cluster.nats", o.nats);
    if (o.nats.empty()) r.error(n["nats"] ? n["nats"] : n, "cluster.nats needs at least one server URL");
    for (const auto& url : o.nats)
        if (url.rfind("nats://", 0) != 0 && url.rfind("tls://", 0) != 0)
            r.error(n["nats"], "cluster.nats URL \"" + url + "\" must start with nats:// or tls://");
    if (n["name"]) r.read(n["name"], "cluster.name", o.name);
    if (!is_name(o.name)) r.error(n["name"], "cluster.name must be letters, digits, '_' or '-', not \"" + o.name + "\"");
    if (n["partitions"]) r.read_int(n["partitions"], "cluster.partitions", o.partitions, 1, 4096);
    if (n["replicas"]) r.read_int(n["replicas"], "cluster.replicas", o.replicas, 1, 5);
    if (n["node"]) r.read(n["node"], "cluster.node", o.node);
    if (!n["node"]) r.error(n, "cluster.node is required: this instance's name, unique in the cluster, such as ${HOSTNAME}");
    else if (!is_name(o.node)) r.error(n["node"], "cluster.node must be letters, digits, '_' or '-', not \"" + o.node + "\"");
    if (auto roles = n["roles"]) {
        std::vector<std::string> list;
        r.read_list(roles, "cluster.roles", list);
        o.roles.ingest = o.roles.engine = false;
        for (const auto& role : list) {
            if (role == "ingest") o.roles.ingest = true;
            else if (role == "engine") o.roles.engine = true;
            else r.error(roles, "cluster.roles may hold ingest and engine, not \"" + role + "\"");
        }
        if (list.empty()) r.error(roles, "cluster.roles needs ingest, engine or both");
    }
    if (n["credentials"]) r.read(n["credentials"], "cluster.credentials", o.credentials);
    if (n["user"]) r.read(n["user"], "cluster.user", o.user);
    if (n["password"]) r.read(n["password"], "cluster.password", o.password);
    if (n["token"]) r.read(n["token"], "cluster.token", o.token);
    if ((!o.credentials.empty()) + (!o.user.empty()) + (!o.token.empty()) > 1)
        r.error(n, "cluster: give one of credentials, user/password and token");
    if (!o.password.empty() && o.user.empty()) r.error(n["password"], "cluster.password needs cluster.user");
    if (auto t = n["tls"]) {
        if (t.IsScalar()) {
            r.read(t, "cluster.tls", o.tls.enabled);
        } else if (r.mapping(t, "cluster.tls", {"ca", "cert", "key", "hostname"})) {
            o.tls.enabled = true;
            if (t["ca"]) r.read(t["ca"], "cluster.tls.ca", o.tls.ca);
            if (t["cert"]) r.read(t["cert"], "cluster.tls.cert", o.tls.cert);
            if (t["key"]) r.read(t["key"], "cluster.tls.key", o.tls.key);
            if (t["hostname"]) r.read(t["hostname"], "cluster.tls.hostname", o.tls.hostname);
            if (o.tls.cert.empty() != o.tls.key.empty()) r.error(t, "cluster.tls: cert and key go together");
        }
    }
    if (n["lease_ttl"]) r.read(n["lease_ttl"], "cluster.lease_ttl", o.lease_ttl);
    if (n["renew_interval"]) r.read(n["renew_interval"], "cluster.renew_interval", o.renew_interval);
    if (o.lease_ttl < seconds_ms) r.error(n["lease_ttl"], "cluster.lease_ttl must be at least 1s");
    else if (o.renew_interval <= duration::zero() || o.renew_interval * 2 > o.lease_ttl)
        r.error(n["renew_interval"] ? n["renew_interval"] : n,
                "cluster.renew_interval must be more than 0s and at most half of cluster.lease_ttl (" +
                    format_duration(o.lease_ttl) + ")");
    if (n["publish_timeout"]) r.read(n["publish_timeout"], "cluster.publish_timeout", o.publish_timeout);
    if (o.publish_timeout < seconds_ms) r.error(n["publish_timeout"], "cluster.publish_timeout must be at least 1s");
    if (n["duplicate_window"]) r.read(n["duplicate_window"], "cluster.duplicate_window", o.duplicate_window);
    if (o.duplicate_window < o.publish_timeout)
        r.error(n["duplicate_window"] ? n["duplicate_window"] : n,
                "cluster.duplicate_window must be at least cluster.publish_timeout, or a resent event could be stored twice");
    if (n["stream_max_age"]) r.read(n["stream_max_age"], "cluster.stream_max_age", o.stream_max_age);
    if (o.stream_max_age < duration::zero() ||
        (o.stream_max_age > duration::zero() && o.stream_max_age < o.duplicate_window))
        r.error(n["stream_max_age"], "cluster.stream_max_age must be 0s (keep everything) or at least the duplicate window");
    if (n["consumer_heartbeat"]) r.read(n["consumer_heartbeat"], "cluster.consumer_heartbeat", o.consumer_heartbeat);
    if (o.consumer_heartbeat < duration{100}) r.error(n["consumer_heartbeat"], "cluster.consumer_heartbeat must be at least 100ms");
    if (n["snapshot_chunk"]) r.read_bytes(n["snapshot_chunk"], "cluster.snapshot_chunk", o.snapshot_chunk_bytes);
    if (o.snapshot_chunk_bytes < 1024) r.error(n["snapshot_chunk"], "cluster.snapshot_chunk must be at least 1KiB");
    if (n["start_timeout"]) r.read(n["start_timeout"], "cluster.start_timeout", o.start_timeout);
    if (o.start_timeout < seconds_ms) r.error(n["start_timeout"], "cluster.start_timeout must be at least 1s");
    c.cluster = std::move(o);
}

void read_document(reader& r, const YAML::Node& root, config& c) {
    if (root.IsNull()) return;  // an empty file: every default
    if (!r.mapping(root, "the config",
                   {"listen", "storage", "rules", "engine", "ingest", "api", "metrics", "http", "delivery", "ui", "channels", "kpi",
                    "log", "adapters", "cluster"}))
        return;
    if (auto n = root["listen"]) read_listen(r, n, c);
    if (auto n = root["storage"]; n && r.mapping(n, "storage", {"path", "sync", "retention", "cache", "memtable"})) {
        if (n["path"]) r.read(n["path"], "storage.path", c.storage.path);
        if (n["sync"]) r.read(n["sync"], "storage.sync", c.storage.sync);
        if (n["retention"]) r.read(n["retention"], "storage.retention", c.storage.retention);
        if (n["cache"]) r.read_bytes(n["cache"], "storage.cache", c.storage.cache_bytes);
        if (n["memtable"]) r.read_bytes(n["memtable"], "storage.memtable", c.storage.memtable_bytes);
    }
    if (auto n = root["rules"]; n && r.mapping(n, "rules", {"paths"})) {
        if (n["paths"]) r.read_list(n["paths"], "rules.paths", c.rules.paths);
    }
    if (auto n = root["engine"];
        n && r.mapping(n, "engine", {"tick", "threads", "timezone", "queue_events", "snapshot_interval"})) {
        if (n["tick"]) r.read(n["tick"], "engine.tick", c.engine.tick);
        if (n["threads"]) r.read_int(n["threads"], "engine.threads", c.engine.threads, 1, 256);
        if (n["timezone"]) r.read(n["timezone"], "engine.timezone", c.engine.timezone);
        if (n["queue_events"]) r.read_int(n["queue_events"], "engine.queue_events", c.engine.queue_events, 1, 100000000);
        if (n["snapshot_interval"]) r.read(n["snapshot_interval"], "engine.snapshot_interval", c.engine.snapshot_interval);
        if (c.engine.tick < seconds_ms) r.error(n["tick"], "engine.tick must be at least 1s");
    }
    if (auto n = root["ingest"];
        n && r.mapping(n, "ingest", {"tokens", "hmac_secret", "max_body", "max_events", "insecure", "max_future"})) {
        if (n["tokens"]) r.read_list(n["tokens"], "ingest.tokens", c.ingest.tokens);
        if (n["hmac_secret"]) r.read(n["hmac_secret"], "ingest.hmac_secret", c.ingest.hmac_secret);
        if (n["max_body"]) r.read_bytes(n["max_body"], "ingest.max_body", c.ingest.max_body);
        if (n["max_events"]) r.read_int(n["max_events"], "ingest.max_events", c.ingest.max_events, 1, 10000);
        if (n["insecure"]) r.read(n["insecure"], "ingest.insecure", c.ingest.insecure);
        if (n["max_future"]) r.read(n["max_future"], "ingest.max_future", c.ingest.max_future);
        // An empty token (an unset variable with an empty default) would let anyone in.
        std::erase_if(c.ingest.tokens, [](const std::string& t) { return t.empty(); });
    }
    if (auto n = root["api"]; n && r.mapping(n, "api", {"read_tokens", "write_tokens", "insecure"})) {
        if (n["read_tokens"]) r.read_list(n["read_tokens"], "api.read_tokens", c.api.read_tokens);
        if (n["write_tokens"]) r.read_list(n["write_tokens"], "api.write_tokens", c.api.write_tokens);
        if (n["insecure"]) r.read(n["insecure"], "api.insecure", c.api.insecure);
        std::erase_if(c.api.read_tokens, [](const std::string& t) { return t.empty(); });
        std::erase_if(c.api.write_tokens, [](const std::string& t) { return t.empty(); });
    }
    if (auto n = root["metrics"]; n && r.mapping(n, "metrics", {"tokens"})) {
        if (n["tokens"]) r.read_list(n["tokens"], "metrics.tokens", c.metrics.tokens);
        std::erase_if(c.metrics.tokens, [](const std::string& t) { return t.empty(); });
    }
    if (auto n = root["http"]; n && r.mapping(n, "http", {"threads", "idle_timeout", "request_timeout"})) {
        if (n["threads"]) r.read_int(n["threads"], "http.threads", c.http.threads, 1, 256);
        if (n["idle_timeout"]) r.read(n["idle_timeout"], "http.idle_timeout", c.http.idle_timeout);
        if (n["request_timeout"]) r.read(n["request_timeout"], "http.request_timeout", c.http.request_timeout);
    }
    if (auto n = root["delivery"]; n && r.mapping(n, "delivery", {"max_age"})) {
        if (n["max_age"]) r.read(n["max_age"], "delivery.max_age", c.delivery.max_age);
    }
    if (auto n = root["ui"]; n && r.mapping(n, "ui", {"account_url", "enabled", "secure_cookie"})) {
        if (n["account_url"]) r.read(n["account_url"], "ui.account_url", c.ui.account_url);
        if (n["enabled"]) r.read(n["enabled"], "ui.enabled", c.ui.enabled);
        if (n["secure_cookie"]) r.read(n["secure_cookie"], "ui.secure_cookie", c.ui.secure_cookie);
    }
    if (auto n = root["channels"]) {
        if (n.IsNull()) {
        } else if (!n.IsMap()) {
            r.error(n, "channels must be a mapping of channel names to channels");
        } else {
            for (const auto& entry : n) read_channel(r, entry.first.Scalar(), entry.second, c);
        }
    }
    if (auto n = root["adapters"]) {
        if (n.IsNull()) {
        } else if (!n.IsMap()) {
            r.error(n, "adapters must be a mapping of vendor names to adapters");
        } else {
            for (const auto& entry : n) read_adapter(r, entry.first.Scalar(), entry.second, c);
        }
    }
    if (auto n = root["kpi"]; n && r.mapping(n, "kpi", {"currency", "gross_margin", "stack", "per_account_metrics", "cost", "free_plans"})) {
        if (n["free_plans"]) r.read_list(n["free_plans"], "kpi.free_plans", c.kpi.free_plans);
        if (auto cost = n["cost"]; cost && r.mapping(cost, "kpi.cost", {"csm_hourly", "support_hourly"})) {
            if (cost["csm_hourly"]) r.read_number(cost["csm_hourly"], "kpi.cost.csm_hourly", c.kpi.csm_hourly);
            if (cost["support_hourly"])
                r.read_number(cost["support_hourly"], "kpi.cost.support_hourly", c.kpi.support_hourly);
        }
        if (n["currency"]) r.read(n["currency"], "kpi.currency", c.kpi.currency);
        if (n["gross_margin"]) r.read_ratio(n["gross_margin"], "kpi.gross_margin", c.kpi.gross_margin);
        if (n["per_account_metrics"]) r.read(n["per_account_metrics"], "kpi.per_account_metrics", c.kpi.per_account_metrics);
        if (auto s = n["stack"]) {
            if (!s.IsMap()) r.error(s, "kpi.stack must be a mapping of product to list price per seat");
            else
                for (const auto& e : s) {
                    double price = 0;
                    r.read_number(e.second, "kpi.stack." + e.first.Scalar(), price);
                    c.kpi.stack[e.first.Scalar()] = price;
                }
        }
    }
    if (auto n = root["log"]; n && r.mapping(n, "log", {"level", "format"})) {
        if (n["level"]) r.read(n["level"], "log.level", c.log.level);
        if (n["format"]) r.read(n["format"], "log.format", c.log.format);
        static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
        if (!levels.count(c.log.level))
            r.error(n["level"], "log.level must be one of trace, debug, info, warn, error, critical, off");
        if (c.log.format != "text" && c.log.format != "json") r.error(n["format"], "log.format must be text or json");
    }
    if (auto n = root["cluster"]; n && !n.IsNull()) {
        read_cluster(r, n, c);
        // A partition's accounts must share one shard (src/cluster/README.md, the seams).
        if (c.cluster && c.cluster->partitions % c.engine.threads != 0)
            r.error(n["partitions"] ? n["partitions"] : n,
                    "cluster.partitions (" + std::to_string(c.cluster->partitions) + ") must be a multiple of engine.threads (" +
                        std::to_string(c.engine.threads) + "), so that each partition's accounts share one engine thread");
    }
}

}  // namespace

environment_lookup process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        if (const char* v = std::getenv(name.c_str())) return std::string(v);
        return std::nullopt;
    };
}

config default_config() {
    config c;
    c.source = "(embedded default)";
    return c;
}

std::optional<std::uint64_t> parse_byte_size(const std::string& text) {
    std::size_t used = 0;
    unsigned long long n = 0;
    try {
        n = std::stoull(text, &used);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    std::string unit = text.substr(used);
    static const std::pair<std::string_view, std::uint64_t> units[] = {
        {"", 1},          {"B", 1},          {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
        {"KB", 1000ull}, {"MB", 1000000ull}, {"GB", 1000000000ull}};
    for (auto [name, size] : units)
        if (unit == name) return n * size;
    return std::nullopt;
}

config_result parse_config(const std::string& text, const std::string& source, const environment_lookup& env) {
    config_result result;
    auto exp = substitute_environment(text, source, env, result.errors);
    config c = default_config();
    c.source = source;
    try {
        YAML::Node root = YAML::Load(exp.text);
        reader r(source, exp, result.errors);
        read_document(r, root, c);
    } catch (const YAML::Exception& e) {
        result.errors.push_back(source + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                                ": " + e.msg);
    }
    if (result.errors.empty()) result.value = std::move(c);
    return result;
}

config_result load_config_file(const std::string& path, const environment_lookup& env) {
    std::ifstream in(path);
    if (!in) return config_result{std::nullopt, {path + ": cannot read the config file"}};
    std::stringstream buffer;
    buffer << in.rdbuf();
    return parse_config(buffer.str(), path, env);
}

}  // namespace redflag::app
