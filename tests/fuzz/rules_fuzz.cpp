// libFuzzer target: arbitrary bytes as a rule file through parse → check → format, and as
// a message template. Besides crashes and sanitizer reports, it fails (abort) when the
// formatter breaks its promises on a file that parsed cleanly: the formatted text must
// parse without errors to the same tree, and formatting must be idempotent.
#include "rules/check/checker.hpp"
#include "rules/diagnostic.hpp"
#include "rules/format/formatter.hpp"
#include "rules/parse/parser.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace redflag::rules;

namespace {
[[noreturn]] void fail(const char* what, const std::string& a, const std::string& b) {
    std::fprintf(stderr, "rules_fuzz: %s\n--- first\n%s\n--- second\n%s\n", what, a.c_str(), b.c_str());
    std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);

    auto parsed = parse::parse_file("fuzz.rules", text);
    const bool clean = parsed.problems.empty();
    std::string formatted, tree;
    if (clean) {
        formatted = format::format_file(parsed.file);
        tree = format::dump_tree(parsed.file);
    }

    ast::program program;
    program.files.push_back(std::move(parsed.file));
    check::check_options options;
    options.channels = std::set<std::string>{"cs_red_flags", "owner_email"};
    auto problems = check::check(program, options);
    (void)render_text(problems);
    (void)render_json(problems);
    (void)render_text(parsed.problems);

    diagnostics template_problems;
    auto tpl = parse::parse_template_text(text, "fuzz template", template_problems);
    auto more = check::check_template(tpl, "fuzz template", program);
    (void)render_text(more);

    if (clean) {
        auto again = parse::parse_file("fuzz.rules", formatted);
        if (!again.problems.empty()) fail("formatted text does not parse", formatted, render_text(again.problems));
        auto again_tree = format::dump_tree(again.file);
        if (again_tree != tree) fail("formatting changed the tree", tree, again_tree);
        auto twice = format::format_file(again.file);
        if (twice != formatted) fail("formatting is not idempotent", formatted, twice);
    }
    return 0;
}
