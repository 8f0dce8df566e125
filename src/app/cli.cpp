#include "app/cli.hpp"

#include "app/config.hpp"
#include "app/import.hpp"
#include "app/outcomes.hpp"
#include "app/replay.hpp"
#include "app/serve.hpp"
#include "app/test_runner.hpp"
#include "rules/format/formatter.hpp"
#include "rules/parse/parser.hpp"
#include "rules/rule_set.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace redflag::app {
namespace {

constexpr const char* version_text = "redflag 0.1.0";

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

int run_check(const std::vector<std::string>& paths, const std::optional<std::string>& config_path,
              const std::string& format) {
    rules::load_options options;
    if (config_path) {
        auto cfg = load_config_file(*config_path);
        if (!cfg.value) {
            for (const auto& e : cfg.errors) std::cerr << e << "\n";
            return 2;
        }
        std::set<std::string> names;
        for (const auto& [name, ch] : cfg.value->channels) names.insert(name);
        options.channels = std::move(names);
    }
    for (const auto& p : paths)
        if (!std::filesystem::exists(p)) {
            std::cerr << p << ": no such file or folder\n";
            return 2;
        }
    auto result = rules::load(paths, options);
    if (format == "json") std::cout << rules::render_json(result.problems) << "\n";
    else std::cout << rules::render_text(result.problems);
    if (!result.rules) return 1;
    if (format != "json")
        std::cout << "ok: " << result.rules->rules().size() << " rules, " << result.rules->scores().size() << " scores, "
                  << result.rules->classifications().size() << " classifications\n";
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
    CLI::App cli{"Redflag: red-flag alerts and KPIs for Customer Success teams"};
    cli.require_subcommand(1);

    std::optional<std::string> serve_config;
    auto* serve = cli.add_subcommand("serve", "run the service");
    serve->add_option("--config", serve_config, "YAML config file (default: ./redflag.yaml, else the embedded default)");

    std::optional<std::string> check_config;
    std::vector<std::string> check_paths;
    std::string check_format = "text";
    auto* check = cli.add_subcommand("check", "parse and type-check rule files or folders");
    check->add_option("--config", check_config, "config whose channels `notify` may name");
    check->add_option("--format", check_format, "text or json")->check(CLI::IsMember({"text", "json"}));
    check->add_option("paths", check_paths, "rule files or folders")->required();

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

    auto* version = cli.add_subcommand("version", "print the version");

    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = cli.exit(e);
        return code == 0 ? 0 : 2;
    }

    if (*serve) return run_serve(serve_config);
    if (*check) return run_check(check_paths, check_config, check_format);
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
    if (*version) {
        std::cout << version_text << "\n";
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
