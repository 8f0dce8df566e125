// rules::load, load_sources and compile_template (rule_set.hpp): the pipeline
// read → parse (rules/parse) → check (rules/check) → compile (rules/compile).
#include "rules/rule_set.hpp"
#include "rules/sources.hpp"

#include "rules/check/checker.hpp"
#include "rules/compile/compiler.hpp"
#include "rules/parse/parser.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace redflag::rules {
namespace {

diagnostic io_problem(const std::string& path, std::string message) {
    diagnostic d;
    d.code = "io";
    d.file = path;
    d.message = std::move(message);
    return d;
}

bool read_file(const std::filesystem::path& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return false;
    out = std::move(text).str();
    return true;
}

}  // namespace

std::vector<source_text> read_sources(std::span<const std::string> paths, diagnostics& problems) {
    namespace fs = std::filesystem;
    std::vector<source_text> sources;
    for (const std::string& path : paths) {
        std::error_code ec;
        if (fs::is_directory(path, ec)) {
            std::vector<fs::path> files;
            for (const auto& entry : fs::directory_iterator(path, ec))
                if (entry.path().extension() == ".rules" && !entry.is_directory()) files.push_back(entry.path());
            if (ec) problems.push_back(io_problem(path, "cannot list folder: " + ec.message()));
            std::sort(files.begin(), files.end());
            for (const auto& f : files) {
                source_text s{f.string(), {}};
                if (!read_file(f, s.text)) problems.push_back(io_problem(s.path, "cannot read file"));
                else sources.push_back(std::move(s));
            }
        } else {
            source_text s{path, {}};
            if (!read_file(path, s.text)) problems.push_back(io_problem(path, "cannot read file"));
            else sources.push_back(std::move(s));
        }
    }
    return sources;
}

std::string source_fingerprint(std::span<const source_text> sources) {
    // Each part framed by its length, so that moving text between files changes it.
    std::string input;
    for (const auto& s : sources) {
        const std::string name = std::filesystem::path(s.path).filename().string();
        input += std::to_string(name.size()) + ":" + name + std::to_string(s.text.size()) + ":";
        input += s.text;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha256(), nullptr) != 1) size = 0;
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

load_result load(std::span<const std::string> paths, const load_options& options) {
    load_result result;
    auto sources = read_sources(paths, result.problems);
    if (has_errors(result.problems)) return result;
    return load_sources(std::move(sources), options);
}

load_result load_sources(std::vector<source_text> sources, const load_options& options) {
    load_result result;
    ast::program program;
    std::map<std::string, std::size_t> file_order;
    for (source_text& s : sources) {
        file_order.emplace(s.path, file_order.size());
        parse::parse_result parsed = parse::parse_file(std::move(s.path), std::move(s.text));
        result.problems.insert(result.problems.end(), parsed.problems.begin(), parsed.problems.end());
        program.files.push_back(std::move(parsed.file));
    }
    // A file that does not parse is not checked: its names are missing, so checking the
    // others against it would only add follow-up errors.
    if (!has_errors(result.problems)) {
        diagnostics checked = check::check(program, check::check_options{options.channels});
        result.problems.insert(result.problems.end(), checked.begin(), checked.end());
    }
    if (!has_errors(result.problems)) {
        compile::compile_result compiled = compile::compile(std::move(program));
        result.problems.insert(result.problems.end(), compiled.problems.begin(), compiled.problems.end());
        if (!has_errors(result.problems)) result.rules = std::move(compiled.rules);
    }
    // In file order (the order given), then by position.
    std::stable_sort(result.problems.begin(), result.problems.end(), [&](const diagnostic& a, const diagnostic& b) {
        auto fa = file_order.find(a.file), fb = file_order.find(b.file);
        std::size_t ia = fa == file_order.end() ? file_order.size() : fa->second;
        std::size_t ib = fb == file_order.end() ? file_order.size() : fb->second;
        if (ia != ib) return ia < ib;
        if (a.line != b.line) return a.line < b.line;
        return a.column < b.column;
    });
    return result;
}

template_result compile_template(std::string_view text, std::string_view origin, const rule_set* names) {
    template_result result;
    std::string where(origin);
    ast::message_template tpl = parse::parse_template_text(text, where, result.problems);
    if (has_errors(result.problems)) return result;
    const auto* compiled = dynamic_cast<const compile::compiled_rule_set*>(names);
    static const ast::program no_names;
    diagnostics checked = check::check_template(tpl, where, compiled ? compiled->source() : no_names);
    result.problems.insert(result.problems.end(), checked.begin(), checked.end());
    if (has_errors(result.problems)) return result;
    compile::template_compile_result built = compile::compile_message(tpl, origin, compiled);
    result.problems.insert(result.problems.end(), built.problems.begin(), built.problems.end());
    if (!has_errors(result.problems)) result.compiled = std::move(built.compiled);
    return result;
}

}  // namespace redflag::rules
