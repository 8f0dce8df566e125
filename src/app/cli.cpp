#include "app/cli.hpp"

#include "app/alerts_cli.hpp"
#include "app/config.hpp"
#include "app/import.hpp"
#include "app/outcomes.hpp"
#include "app/replay.hpp"
#include "app/serve.hpp"
#include "app/server_options.hpp"
#include "app/test_runner.hpp"
#include "http/server.hpp"
#include "metrics/build_info.hpp"
#include "rules/format/formatter.hpp"
#include "rules/parse/parser.hpp"
#include "rules/rule_set.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace redflag::app {
namespace {

// `redflag version` and `--version`: the first line is "redflag VERSION", for scripts.
std::string version_text() {
    const auto& b = metrics::this_build();
    return "redflag " + std::string(b.version) + " (revision " + std::string(b.revision) + ")\n  built with " +
           std::string(b.compiler) + ", " + std::string(b.build_type);
}

// The man-page sections after the generated usage of `redflag --help` and `redflag help`.
constexpr const char* manual_footer = R"(
CONFIGURATION
  serve reads --config FILE, else ./redflag.yaml, else the embedded default: listen on
  127.0.0.1:8080, state in ./data, rules from ./rules. ${VAR} and ${VAR:-default} read the
  environment. Unknown keys and bad values are errors with file:line:column; check them
  with `redflag check --config FILE`. Credentials: ingest.tokens and ingest.hmac_secret
  guard POST /v1/events; api.read_tokens and api.write_tokens the management API (reads;
  acks, silences and reload); metrics.tokens, when set, GET /metrics. A non-loopback
  listen address needs ingest and API credentials (or ingest.insecure / api.insecure).

HTTP
  POST /v1/events              events (JSON object, array or NDJSON); 202 once durable
  POST /v1/hooks/VENDOR        a vendor's signed webhook (adapters.VENDOR: stripe, zendesk, ...)
  GET  /v1/accounts/ID, /v1/alerts, /v1/alerts/ID, /v1/silences     the management API
  POST /v1/alerts/ID/ack, /v1/alerts/ID/snooze, /v1/silences; DELETE /v1/silences/ID; POST /-/reload
  GET  /v1/reports/weekly?csm=&format=text|html|json    the weekly report
  GET  /v1/reports/account/ID?days=&format=text|json    an account's health vs our actions
  POST /v1/slack/interactions  the Slack card's buttons (signed with a slack channel's signing_secret)

ACTING ON ALERTS (a running service; --url, token from $REDFLAG_TOKEN)
  redflag alerts --state firing --csm dana@vendor.example
  redflag ack ID --comment "calling them today"
  redflag snooze ID --for 7d --wake-if 'count(tickets where priority == "urgent") > 2'
  redflag silence add --account acme --for 48h --reason "migration weekend"
  redflag silence list;  redflag silence expire ID
  redflag report weekly --csm dana@vendor.example --format html > week.html
  redflag report account acme --days 60
  GET  /metrics (Prometheus), /healthz (liveness), /readyz (readiness)

SIGNALS
  SIGHUP reloads rules and channels (a bad set is reported and the running one stays);
  SIGTERM and SIGINT stop cleanly. Under systemd (Type=notify) serve sends READY=1 once it
  answers /readyz, and STOPPING=1 when it stops.

EXIT STATUS
  0 success; 1 check, test or fmt --check found problems, or the service refused or could
  not be reached (alerts, ack, snooze, silence: its message is printed); 2 a usage error,
  or serve could not start (bad config or rules, store, listener).

FILES
  /etc/redflag/redflag.yaml    the packaged configuration
  /etc/redflag/rules/          the shipped rules (rules/tests/: their unit tests)
  /etc/redflag/redflag.env     secrets for ${VAR}, read by the systemd unit
  /var/lib/redflag/            state (RocksDB)

SEE ALSO
  /usr/share/doc/redflag/README.md, systemctl status redflag, journalctl -u redflag
)";

// A config error "file:line:col: message" (or "file: message") as a diagnostic, with the
// source line under it, so `check` shows config and rule problems alike.
rules::diagnostic config_diagnostic(const std::string& error, const std::string& path, std::string_view text) {
    rules::diagnostic d;
    d.code = "config";
    d.file = path;
    d.message = error;
    if (error.rfind(path + ":", 0) != 0) return d;
    std::string_view rest = std::string_view(error).substr(path.size() + 1);
    unsigned line = 0, column = 0;
    std::size_t used = 0;
    auto number = [&](unsigned& out) {
        std::size_t start = used;
        while (used < rest.size() && rest[used] >= '0' && rest[used] <= '9') out = out * 10 + unsigned(rest[used++] - '0');
        return used > start;
    };
    if (number(line) && used < rest.size() && rest[used] == ':' && (++used, number(column)) &&
        rest.substr(used).starts_with(": ")) {
        d.line = line;
        d.column = column;
        d.message = std::string(rest.substr(used + 2));
        d.snippet = std::string(rules::source_line(text, line));
    } else {
        d.message = std::string(rest.starts_with(" ") ? rest.substr(1) : rest);
    }
    return d;
}

// Files named on the command line, with folders expanded to their *.rules files in name
// order. Missing paths are reported and make the result empty.
std::optional<std::vector<std::string>> rule_files(const std::vector<std::string>& paths) {
    std::vector<std::string> files;
    for (const auto& p : paths) {
        std::error_code ec;
        if (std::filesystem::is_directory(p, ec)) {
            std::vector<std::string> found;
            for (const auto& entry : std::filesystem::directory_iterator(p, ec))
                if (entry.is_regular_file() && entry.path().extension() == ".rules") found.push_back(entry.path().string());
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else if (std::filesystem::is_regular_file(p, ec)) {
            files.push_back(p);
        } else {
            std::cerr << p << ": no such file or folder\n";
            return std::nullopt;
        }
    }
    return files;
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

// `redflag check [--config FILE] [PATH...]`: the config (every key, ${VAR}, and whether
// serve would accept its listener and credentials) and the rule files, given or else the
// config's rules.paths, with the config's channels for `notify`.
int run_check(std::vector<std::string> paths, const std::optional<std::string>& config_path, const std::string& format) {
    rules::diagnostics problems;
    rules::load_options options;
    std::string config_summary;
    if (config_path) {
        auto text = read_file(*config_path);
        if (!text) {
            std::cerr << *config_path << ": cannot read the config file\n";
            return 2;
        }
        auto cfg = parse_config(*text, *config_path);
        for (const auto& e : cfg.errors) problems.push_back(config_diagnostic(e, *config_path, *text));
        if (cfg.value) {
            if (auto refused = http::check_listen(server_options_from(*cfg.value)))
                problems.push_back(rules::diagnostic{"config", rules::severity::error, *refused, *config_path, 0, 0, {}, {}});
            std::set<std::string> names;
            for (const auto& [name, ch] : cfg.value->channels) names.insert(name);
            options.channels = std::move(names);
            if (paths.empty()) paths = cfg.value->rules.paths;
            config_summary = "config " + *config_path + ", ";
        }
    }
    for (const auto& p : paths)
        if (!std::filesystem::exists(p)) {
            std::cerr << p << ": no such file or folder\n";
            return 2;
        }
    rules::load_result result;
    if (!paths.empty()) result = rules::load(paths, options);
    problems.insert(problems.end(), result.problems.begin(), result.problems.end());
    if (format == "json") std::cout << rules::render_json(problems) << "\n";
    else std::cout << rules::render_text(problems);
    if (rules::has_errors(problems) || (!paths.empty() && !result.rules)) return 1;
    if (format != "json") {
        std::cout << "ok: " << config_summary;
        if (result.rules)
            std::cout << result.rules->rules().size() << " rules, " << result.rules->scores().size() << " scores, "
                      << result.rules->classifications().size() << " classifications";
        else
            std::cout << "no rule files";
        std::cout << "\n";
    }
    return 0;
}

int run_fmt(const std::vector<std::string>& paths, bool check) {
    auto files = rule_files(paths);
    if (!files) return 2;
    bool changed = false, broken = false;
    for (const auto& file : *files) {
        auto text = read_file(file);
        if (!text) {
            std::cerr << file << ": cannot read\n";
            return 2;
        }
        auto parsed = rules::parse::parse_file(file, *text);
        if (rules::has_errors(parsed.problems)) {
            std::cerr << rules::render_text(parsed.problems);
            broken = true;
            continue;
        }
        auto formatted = rules::format::format_file(parsed.file);
        if (formatted == *text) continue;
        changed = true;
        if (check) {
            std::cout << file << ": not in canonical layout (run redflag fmt " << file << ")\n";
        } else {
            std::ofstream out(file, std::ios::binary | std::ios::trunc);
            out << formatted;
            if (!out) {
                std::cerr << file << ": cannot write\n";
                return 2;
            }
            std::cout << "formatted " << file << "\n";
        }
    }
    if (broken) return 1;
    return check && changed ? 1 : 0;
}

std::optional<timestamp> parse_time_option(const std::string& text, const char* what) {
    auto t = parse_rfc3339(text);
    if (!t) std::cerr << what << " must be an RFC 3339 time such as 2026-01-01T00:00:00Z, not \"" << text << "\"\n";
    return t;
}

}  // namespace

int run_cli(int argc, char** argv) {
    CLI::App cli{"Redflag: red-flag alerts and KPIs for Customer Success teams.\n\n"
                 "A streaming alert engine: it takes webhooks (usage, tickets, NPS, CSAT, contracts), keeps each\n"
                 "account's state in RocksDB, evaluates rule files, raises red-flag alerts to Slack, email and\n"
                 "webhooks (Alertmanager too) and exports CS KPIs to Prometheus.\n",
                 "redflag"};
    cli.require_subcommand(1);
    cli.set_version_flag("--version", version_text(), "print the version and exit");

    std::optional<std::string> serve_config;
    auto* serve = cli.add_subcommand("serve", "run the service");
    serve->add_option("--config", serve_config, "YAML config file (default: ./redflag.yaml, else the embedded default)");

    std::optional<std::string> check_config;
    std::vector<std::string> check_paths;
    std::string check_format = "text";
    auto* check = cli.add_subcommand("check", "check a config and rule files or folders (type-check, channels)");
    check->add_option("--config", check_config,
                      "config to check too: its keys, its listener and credentials, the channels `notify` may name; "
                      "without PATH, its rules.paths are checked");
    check->add_option("--format", check_format, "text or json")->check(CLI::IsMember({"text", "json"}));
    check->add_option("paths", check_paths, "rule files or folders");

    std::vector<std::string> test_files;
    auto* test = cli.add_subcommand("test", "run rule unit tests");
    test->add_option("files", test_files, "test YAML files")->required();

    std::vector<std::string> replay_rules;
    std::string replay_events, replay_from, replay_until, replay_step = "1h", replay_outcomes_json;
    bool replay_outcomes = false;
    auto* replay = cli.add_subcommand("replay", "feed an NDJSON event log through rules in event time");
    replay->add_option("--rules", replay_rules, "rule files or folders")->required();
    replay->add_option("--events", replay_events, "NDJSON event log, - for standard input")->required();
    replay->add_option("--from", replay_from, "first instant to report (RFC 3339)");
    replay->add_option("--until", replay_until, "last instant to evaluate (RFC 3339)");
    replay->add_option("--step", replay_step, "evaluation period besides every event (default 1h)");
    replay->add_flag("--outcomes", replay_outcomes,
                     "compare alerts with churn and contraction afterwards: a table on standard error");
    replay->add_option("--outcomes-json", replay_outcomes_json, "also write the outcomes as JSON to this file");
    std::size_t replay_threads = 0;
    replay->add_option("--threads", replay_threads, "engine cores replaying in parallel (default: one per CPU)");

    std::vector<std::string> fmt_paths;
    bool fmt_check = false;
    auto* fmt = cli.add_subcommand("fmt", "rewrite rule files in canonical layout");
    fmt->add_flag("--check", fmt_check, "only report files that would change (exit 1)");
    fmt->add_option("paths", fmt_paths, "rule files or folders")->required();

    import_options import_opts;
    std::vector<std::string> import_maps;
    auto* import_cmd = cli.add_subcommand("import", "load accounts or users from a CSV export into a running service");
    import_cmd->add_option("file", import_opts.file, "CSV file with a header line")->required();
    import_cmd->add_option("--url", import_opts.url, "the service, e.g. http://127.0.0.1:8080 (token: $REDFLAG_TOKEN)");
    import_cmd->add_option("--type", import_opts.type, "account or user (default account)")->check(CLI::IsMember({"account", "user"}));
    import_cmd->add_option("--map", import_maps, "COLUMN=FIELD (FIELD - drops the column, attributes.KEY for attributes)");
    import_cmd->add_option("--key", import_opts.key, "a column that identifies each row (default: the row's content)");
    import_cmd->add_option("--batch", import_opts.batch, "events per request (default 1000)");
    import_cmd->add_flag("--dry-run", import_opts.dry_run, "validate and print the events, send nothing");

    // The amtool-like commands (app/alerts_cli.hpp): a running service's alerts and silences.
    remote_options remote;
    if (const char* token = std::getenv("REDFLAG_TOKEN"); token && *token) remote.token = token;
    if (const char* user = std::getenv("USER"); user && *user) remote.by = user;
    auto remote_flags = [&](CLI::App* sub, bool acts) {
        sub->add_option("--url", remote.url, "the service (default http://127.0.0.1:8080; token: $REDFLAG_TOKEN)");
        if (acts) sub->add_option("--by", remote.by, "who acts (default $USER)");
    };
    alert_query alerts_query;
    auto* alerts_cmd = cli.add_subcommand("alerts", "list a running service's alerts, newest first");
    alerts_cmd->add_option("--state", alerts_query.state, "pending, firing or resolved");
    alerts_cmd->add_option("--csm", alerts_query.csm, "the owner's name or email");
    alerts_cmd->add_option("--rule", alerts_query.rule, "a rule's name");
    alerts_cmd->add_option("--account", alerts_query.account, "an account id");
    alerts_cmd->add_flag("--json", remote.json, "print the service's JSON");
    remote_flags(alerts_cmd, false);
    std::string act_id, act_comment, snooze_for, snooze_wake_if;
    auto* ack_cmd = cli.add_subcommand("ack", "acknowledge an alert (stops its repeats)");
    ack_cmd->add_option("id", act_id, "the alert id")->required();
    ack_cmd->add_option("--comment", act_comment, "why, for the alert's history and Slack thread");
    remote_flags(ack_cmd, true);
    auto* snooze_cmd = cli.add_subcommand("snooze", "hold a firing alert's repeats for a while");
    snooze_cmd->add_option("id", act_id, "the alert id")->required();
    snooze_cmd->add_option("--for", snooze_for, "how long, such as 7d")->required();
    snooze_cmd->add_option("--wake-if", snooze_wake_if,
                           "a condition of the rule language that ends it early, e.g. 'health.score < 30'");
    snooze_cmd->add_option("--comment", act_comment, "why");
    remote_flags(snooze_cmd, true);
    auto* silence_cmd = cli.add_subcommand("silence", "add, list or expire silences");
    silence_cmd->require_subcommand(1);
    silence_request silence;
    auto* silence_add = silence_cmd->add_subcommand("add", "hold back the notifications of matching alerts");
    silence_add->add_option("--rule", silence.rule, "a rule's name");
    silence_add->add_option("--account", silence.account, "an account id");
    silence_add->add_option("--until", silence.until, "the end, RFC 3339");
    silence_add->add_option("--for", silence.length, "or how long from now, such as 2h");
    silence_add->add_option("--reason", silence.reason, "why")->required();
    silence_add->add_flag("--json", remote.json, "print the service's JSON");
    remote_flags(silence_add, true);
    auto* silence_list = silence_cmd->add_subcommand("list", "list the silences, newest first");
    silence_list->add_flag("--json", remote.json, "print the service's JSON");
    remote_flags(silence_list, false);
    std::string silence_id;
    auto* silence_expire = silence_cmd->add_subcommand("expire", "end a silence now");
    silence_expire->add_option("id", silence_id, "the silence id")->required();
    remote_flags(silence_expire, false);

    auto* report_cmd = cli.add_subcommand("report", "reports from a running service");
    report_cmd->require_subcommand(1);
    std::string report_csm, report_format = "text";
    auto* report_weekly = report_cmd->add_subcommand("weekly", "the weekly report: red flags, turnarounds, renewals, "
                                                               "onboardings, promoters, goals, NRR/GRR/NPS per CSM");
    report_weekly->add_option("--csm", report_csm, "only this CSM's accounts (email or name)");
    report_weekly->add_option("--format", report_format, "text (default), html or json");
    remote_flags(report_weekly, false);
    std::string report_account_id, report_account_format = "text";
    int report_days = 30;
    auto* report_account = report_cmd->add_subcommand(
        "account", "one account's daily health next to its activities and alerts (health vs our actions)");
    report_account->add_option("id", report_account_id, "the account id")->required();
    report_account->add_option("--days", report_days, "how many days back (default 30, at most 400)");
    report_account->add_option("--format", report_account_format, "text (default) or json");
    remote_flags(report_account, false);

    auto* version = cli.add_subcommand("version", "print the version");
    std::string help_topic;
    auto* help = cli.add_subcommand("help", "print this manual, or a command's: redflag help COMMAND");
    std::vector<std::string> commands;
    for (const auto* sub : cli.get_subcommands({})) commands.push_back(sub->get_name());
    help->add_option("command", help_topic, "a command")->check(CLI::IsMember(commands));
    cli.footer(manual_footer);  // after the subcommands: they would copy it

    // An unknown command names itself (CLI11 would only say that one is required).
    if (argc > 1 && argv[1][0] != '-' && std::find(commands.begin(), commands.end(), argv[1]) == commands.end()) {
        std::cerr << "redflag: unknown command \"" << argv[1] << "\"; the commands are";
        for (std::size_t i = 0; i < commands.size(); ++i)
            std::cerr << (i == 0 ? " " : i + 1 == commands.size() ? " and " : ", ") << commands[i];
        std::cerr << " (redflag help)\n";
        return 2;
    }

    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = cli.exit(e);
        return code == 0 ? 0 : 2;
    }

    if (*help) {
        // App::help() would describe `help` itself, the subcommand that was parsed.
        if (help_topic.empty()) std::cout << cli.get_formatter()->make_help(&cli, "redflag", CLI::AppFormatMode::Normal);
        else std::cout << cli.get_subcommand(help_topic)->help("redflag");
        return 0;
    }
    if (*serve) return run_serve(serve_config);
    if (*check) {
        if (check_paths.empty() && !check_config) {
            std::cerr << "redflag check: name rule files or folders, or --config FILE (redflag help check)\n";
            return 2;
        }
        return run_check(check_paths, check_config, check_format);
    }
    if (*test) return run_tests(test_files, std::cout, std::cerr);
    if (*fmt) return run_fmt(fmt_paths, fmt_check);
    if (*import_cmd) {
        for (const auto& m : import_maps) {
            auto eq = m.find('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == m.size()) {
                std::cerr << "--map must be COLUMN=FIELD, not \"" << m << "\"\n";
                return 2;
            }
            import_opts.map[m.substr(0, eq)] = m.substr(eq + 1);
        }
        return run_import(import_opts, std::cout, std::cerr);
    }
    if (*alerts_cmd) return run_alerts_list(remote, alerts_query, std::cout, std::cerr);
    if ((*ack_cmd || *snooze_cmd || *silence_add) && remote.by.empty()) {
        std::cerr << "redflag: say who acts with --by (USER is not set)\n";
        return 2;
    }
    if (*ack_cmd) return run_ack(remote, act_id, act_comment, std::cout, std::cerr);
    if (*snooze_cmd) return run_snooze(remote, act_id, snooze_for, snooze_wake_if, act_comment, std::cout, std::cerr);
    if (*silence_add) return run_silence_add(remote, silence, std::cout, std::cerr);
    if (*silence_list) return run_silence_list(remote, std::cout, std::cerr);
    if (*silence_expire) return run_silence_expire(remote, silence_id, std::cout, std::cerr);
    if (*report_weekly) return run_report_weekly(remote, report_csm, report_format, std::cout, std::cerr);
    if (*report_account)
        return run_report_account(remote, report_account_id, report_days, report_account_format, std::cout, std::cerr);
    if (*version) {
        std::cout << version_text() << "\n";
        return 0;
    }
    if (*replay) {
        replay_options options;
        options.rules = replay_rules;
        options.events = replay_events;
        options.outcomes = replay_outcomes || !replay_outcomes_json.empty();
        options.threads = replay_threads;
        if (!replay_from.empty() && !(options.from = parse_time_option(replay_from, "--from"))) return 1;
        if (!replay_until.empty() && !(options.until = parse_time_option(replay_until, "--until"))) return 1;
        auto step = parse_duration(replay_step);
        if (!step || *step <= duration{0}) {
            std::cerr << "--step must be a duration such as 1h, not \"" << replay_step << "\"\n";
            return 1;
        }
        options.step = *step;
        std::optional<outcomes_observer> outcomes;
        if (options.outcomes) outcomes.emplace(options.from, options.until, replay_outcomes_json);
        return run_replay(options, std::cout, std::cerr, outcomes ? &*outcomes : nullptr);
    }
    return 2;
}

}  // namespace redflag::app
