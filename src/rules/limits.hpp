// How deep rule files may nest (README "Writing rules", grammar/README.md). Every stage of
// the pipeline walks expressions recursively, so nesting is bounded where it can first be
// seen, with a positioned diagnostic of code "too-deep", and each later stage relies on
// the bound:
//   parse    an expression (operators, parentheses, calls, `where`, `if`, lists, `not`
//            and `-`, message template interpolations) nests at most max_nesting levels;
//   check    walks one expression at a time (a let is checked before the items that read
//            it, never from inside them), so it recurses at most that deep; it also
//            refuses a deeper tree it is handed directly;
//   compile  an expression counted with the lets, scores and classifications it reads
//            (each reference adds the referenced item's depth) nests at most max_nesting
//            levels: this bounds the evaluator, the input analysis and fingerprints;
//   format   prints trees that parsed, so within the parse bound;
//   evaluate recurses along what compile measured.
// At this bound the deepest stage uses a few hundred KiB of stack (see
// tests/rules/depth_test.cpp), well within the smallest default thread stack (2 MiB).
#pragma once

#include <cstddef>

namespace redflag::rules {

// Generous for people: the shipped rules nest at most about 10 levels.
inline constexpr std::size_t max_nesting = 256;

}  // namespace redflag::rules
