// "Did you mean …?" for unknown names: the closest candidate by edit distance
// (Levenshtein with adjacent transpositions), if it is close enough to be a likely typo.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redflag::rules::check {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
// two adjacent characters each cost 1.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    const std::size_t m = b.size();
    // Three rows of the dynamic-programming table: two back (for swaps), one back, current.
    std::vector<std::size_t> two(m + 1), one(m + 1), cur(m + 1);
    for (std::size_t j = 0; j <= m; ++j) one[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= m; ++j) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[j] = std::min({one[j] + 1, cur[j - 1] + 1, one[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], two[j - 2] + 1);
        }
        std::swap(two, one);
        std::swap(one, cur);
    }
    return one[m];
}

// The candidate closest to `word`, when its distance is at most a third of the word's
// length (at least 1, at most 3); ties go to the earlier candidate.
inline std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
    if (word.size() > 200) return std::nullopt;  // not a typo, and quadratic to compare
    std::size_t limit = std::clamp<std::size_t>(word.size() / 3, 1, 3);
    std::optional<std::string> best;
    std::size_t best_distance = limit + 1;
    for (const auto& c : candidates) {
        if (c == word || c.size() > word.size() + limit || c.size() + limit < word.size()) continue;
        auto dist = edit_distance(word, c);
        if (dist < best_distance) {
            best_distance = dist;
            best = c;
        }
    }
    return best;
}

}  // namespace redflag::rules::check
