#include "app/replay.hpp"

#include "app/account_scan.hpp"

#include "core/hash.hpp"
#include "core/json_text.hpp"
#include "engine/core.hpp"
#include "ingest/validate.hpp"
#include "rules/rule_set.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>

#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

// One line's JSON parser with its fixed buffers, reused line after line: parsing does
// not touch the heap for ordinary events. The line's object then goes through the one
// event decoder (ingest/validate.hpp) as a replayed event: `at` required and not bounded,
// no id derived (nothing deduplicates here). The event's fields keep the parser's buffer
// (moved, not copied): the event is valid until the next call.
class line_decoder {
public:
    line_decoder()
        : value_buffer_(64 * 1024),
          values_(value_buffer_.data(), value_buffer_.size()),
          parser_(json::storage_ptr(), json::parse_options{}, parser_buffer_, sizeof parser_buffer_) {
        options_.derive_ids = false;
    }

    // "" or what is wrong with the line: each problem as "field: message", "; " between.
    std::string decode(std::string_view line, std::optional<model::event>& out) {
        out.reset();
        values_.release();
        parser_.reset(json::storage_ptr(&values_));
        boost::system::error_code ec;
        parser_.write(line.data(), line.size(), ec);
        if (ec) return "malformed JSON: " + ec.message();
        json::value v = parser_.release();
        problems_.clear();
        if (ingest::decode_event(v, 0, options_, out, problems_).ok) return {};
        std::string text;
        for (const auto& p : problems_) {
            if (!text.empty()) text += "; ";
            text += ingest::describe(p);
        }
        return text;
    }

private:
    std::vector<unsigned char> value_buffer_;
    unsigned char parser_buffer_[4096];
    json::monotonic_resource values_;
    json::parser parser_;
    ingest::decode_options options_;
    std::vector<ingest::problem> problems_;
};

bool blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

void append_transition(std::string& out, const alerts::alert_event& e) {
    out += "{\"at\":";
    append_json_string(out, format_rfc3339(e.at));
    out += ",\"rule\":";
    append_json_string(out, e.record.rule);
    out += ",\"account\":";
    append_json_string(out, e.record.account);
    out += ",\"state\":";
    append_json_string(out, alerts::name_of(e.to));
    out += ",\"severity\":";
    append_json_string(out, alerts::name_of(e.record.severity));
    out += ",\"message\":";
    append_json_string(out, e.message);
    out += "}\n";
}

bool printed(const replay_options& options, const alerts::alert_event& e) {
    return e.kind == alerts::event_kind::transition && !(options.from && e.at < *options.from);
}

// ---------------------------------------------------------------------------------------
// With an observer (--outcomes): one core, every line in file order, so the observer sees
// events and alerts in exactly the order the engine produced them.

int replay_in_order(const replay_options& options, std::shared_ptr<const rules::rule_set> rules, std::FILE* file,
                    std::ostream& out, std::ostream& err, replay_observer& observer) {
    std::unique_ptr<engine::core> core;
    std::string line_out;
    auto flush = [&]() {
        for (const auto& e : core->events()) {
            observer.on_alert(e);
            if (!printed(options, e)) continue;
            line_out.clear();
            append_transition(line_out, e);
            out.write(line_out.data(), static_cast<std::streamsize>(line_out.size()));
        }
        core->clear_events();
    };

    line_decoder decoder;
    line_reader reader(file);
    std::size_t line_number = 0;
    std::optional<model::event> decoded;
    while (auto line = reader.next()) {
        ++line_number;
        if (blank(*line)) continue;
        std::string problem = decoder.decode(*line, decoded);
        if (!problem.empty()) {
            err << options.events << ":" << line_number << ": error: " << problem << "\n";
            return 1;
        }
        const model::event& e = *decoded;
        if (options.until && e.at > *options.until) break;
        if (!core) core = std::make_unique<engine::core>(rules, engine::core_options{.grid_origin = e.at, .tick = options.step, .render_messages = true});
        observer.on_event(e);
        core->advance_to(e.at - duration{1});
        flush();
        core->apply(e);
        flush();
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
    const bool reported = observer.finish(out, err);
    out.flush();
    return reported ? 0 : 1;
}

// ---------------------------------------------------------------------------------------
// Without an observer: accounts are independent, so the log is replayed by one engine
// core per thread, each owning the accounts that hash to it (as serve's shards do).
//
//   main thread: reads the file in chunks of whole lines ──► every worker's queue
//   worker k:    for each line, finds the account (a quick scan of the raw text; a full
//                parse when the scan is unsure); parses, applies and evaluates its own
//                lines, in file order; publishes its transitions, its clock and how far
//                it has read
//   main thread: merges: a transition is final once every worker's clock has passed its
//                instant and every worker has read past the line that caused it; prints
//                final ones ordered by (instant, account, order of occurrence)
//
// Each worker runs the grid of the whole log (origin: the first event's `at`) and, before
// each of its events, advances its core to just before the event; at the end every core
// advances to just before the last event of the log (and to --until), so each account
// sees exactly the evaluation instants of a single-core replay. The order of lines with
// equal instants is the only difference, and it no longer depends on the thread count.

std::uint64_t owner_hash(std::string_view account) { return fnv1a(account); }

struct chunk {
    std::string_view text;       // whole lines (the last one may lack its '\n' at the end of the file)
    std::vector<char> storage;   // what `text` points into, when the chunk was read (not mapped)
    bool mapped = false;         // `text` is a view of a mapped file
    std::uint64_t first_line = 1;
    std::uint64_t newlines = 0;  // so the next chunk starts at line first_line + newlines

    chunk() = default;
    chunk(const chunk&) = delete;
    chunk& operator=(const chunk&) = delete;
    // Once every core is done with a mapped chunk, its pages leave the process (the page
    // cache keeps them), so the mapping does not add the whole log to the RSS. Only
    // whole pages inside the chunk: a neighbour's page, if it were dropped, would only be
    // mapped again.
    ~chunk() {
        if (!mapped) return;
        const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
        auto begin = (reinterpret_cast<std::uintptr_t>(text.data()) + page - 1) / page * page;
        auto end = (reinterpret_cast<std::uintptr_t>(text.data()) + text.size()) / page * page;
        if (begin < end) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
    }
};

// The `at` of the chunk's first event; nullopt when it has only blank lines, or when
// that event does not decode (`problem` and `line_number` then say why and where).
std::optional<timestamp> first_event_time(const chunk& c, std::string& problem, std::uint64_t& line_number) {
    std::string_view text = c.text;
    for (line_number = c.first_line; !text.empty(); ++line_number) {
        std::size_t newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (blank(line)) continue;
        line_decoder decoder;
        std::optional<model::event> decoded;
        problem = decoder.decode(line, decoded);
        if (!problem.empty()) return std::nullopt;
        return decoded->at;
    }
    return std::nullopt;
}

std::uint64_t count_newlines(std::string_view text) {
    std::uint64_t n = 0;
    for (const char *p = text.data(), *end = p + text.size();
         (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))) != nullptr; ++p)
        ++n;
    return n;
}

// A regular file mapped into memory: chunks are views of the mapping, so the file's
// bytes are neither copied nor zero-filled first (reading a 1.5 GB log with fread cost
// the main thread about 5% of the replay's CPU, competing with the cores).
class mapped_file {
public:
    // Maps `file` when it is a non-empty regular file; otherwise data() is empty and the
    // caller reads it instead.
    explicit mapped_file(std::FILE* file) {
        struct stat info {};
        int fd = ::fileno(file);
        if (fd < 0 || ::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || info.st_size <= 0) return;
        // Mapping reads from offset 0: only when nothing was read from the stream yet.
        if (::lseek(fd, 0, SEEK_CUR) != 0) return;
        void* p = ::mmap(nullptr, static_cast<std::size_t>(info.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) return;
        ::madvise(p, static_cast<std::size_t>(info.st_size), MADV_SEQUENTIAL);
        data_ = std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(info.st_size));
    }
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    ~mapped_file() {
        if (!data_.empty()) ::munmap(const_cast<char*>(data_.data()), data_.size());
    }

    std::string_view data() const { return data_; }

private:
    std::string_view data_;
};

// Hands out a file in chunks of whole lines of about `target` bytes, counting lines:
// views of the mapping for a regular file, copies read with fread otherwise (a pipe,
// standard input).
class chunk_reader {
public:
    chunk_reader(std::FILE* file, std::size_t target)
        : file_(file), target_(std::max<std::size_t>(target, 1)), mapped_(file), rest_(mapped_.data()) {
        if (!mapped_.data().empty()) eof_ = true;
    }

    std::shared_ptr<const chunk> next() {
        auto c = std::make_shared<chunk>();
        c->first_line = next_line_;
        if (!mapped_.data().empty()) {
            if (rest_.empty()) return nullptr;
            std::size_t cut = rest_.size();
            if (rest_.size() > target_) {
                std::size_t newline = rest_.find('\n', target_ - 1);
                if (newline != std::string_view::npos) cut = newline + 1;
            }
            c->text = rest_.substr(0, cut);
            c->mapped = true;
            rest_.remove_prefix(cut);
        } else {
            if (eof_ && carry_.empty()) return nullptr;
            if (!read_chunk(c->storage)) return nullptr;
            c->text = std::string_view(c->storage.data(), c->storage.size());
        }
        c->newlines = count_newlines(c->text);
        next_line_ += c->newlines;
        return c;
    }

    bool failed() const { return mapped_.data().empty() && std::ferror(file_) != 0; }

private:
    // Reads whole lines into `bytes`; false when there was nothing left.
    bool read_chunk(std::vector<char>& bytes) {
        bytes.swap(carry_);
        std::size_t scanned = 0;
        while (!eof_) {
            std::size_t size = bytes.size();
            bytes.resize(std::max(size + std::min(read_size, target_), target_));
            std::size_t got = std::fread(bytes.data() + size, 1, bytes.size() - size, file_);
            bytes.resize(size + got);
            if (got == 0) eof_ = true;
            if (bytes.size() >= target_ || eof_) {
                // Cut after the last newline; keep the rest for the next chunk.
                auto* begin = bytes.data();
                std::size_t cut = bytes.size();
                while (cut > scanned && begin[cut - 1] != '\n') --cut;
                if (eof_) break;
                if (cut > scanned) {
                    carry_.assign(begin + cut, begin + bytes.size());
                    bytes.resize(cut);
                    break;
                }
                scanned = bytes.size();  // one line longer than a chunk: read on
            }
        }
        return !bytes.empty();
    }

    static constexpr std::size_t read_size = 1 << 20;
    std::FILE* file_;
    std::size_t target_;
    mapped_file mapped_;
    std::string_view rest_;  // of the mapping, not handed out yet
    std::vector<char> carry_;
    std::uint64_t next_line_ = 1;
    bool eof_ = false;
};

constexpr std::uint64_t no_line = std::numeric_limits<std::uint64_t>::max();

// A transition waiting to be printed.
struct pending_transition {
    timestamp at{};
    std::string account;
    std::uint64_t line = 0;  // the line whose processing produced it; no_line for the closing advance
    std::string text;
};

struct replay_run {
    const replay_options& options;
    std::shared_ptr<const rules::rule_set> rules;
    timestamp origin{};
    std::size_t workers = 1;
    // Lines at or after this one are not applied: the first bad line, or the first event
    // after --until.
    std::atomic<std::uint64_t> stop_line{no_line};

    void stop_at(std::uint64_t line) {
        std::uint64_t current = stop_line.load();
        while (line < current && !stop_line.compare_exchange_weak(current, line)) {
        }
    }
};

class replay_worker {
public:
    replay_worker(replay_run& run, std::size_t index)
        : run_(run), index_(index),
          core_(run.rules, engine::core_options{.grid_origin = run.origin, .tick = run.options.step, .render_messages = true}) {}

    void push(std::shared_ptr<const chunk> c) {
        std::unique_lock lock(mutex_);
        room_.wait(lock, [&] { return queue_.size() < max_queued; });
        queue_.push_back(std::move(c));
        ready_.notify_one();
    }

    void run() {
        while (true) {
            std::shared_ptr<const chunk> c;
            {
                std::unique_lock lock(mutex_);
                ready_.wait(lock, [&] { return !queue_.empty(); });
                c = std::move(queue_.front());
                queue_.pop_front();
                room_.notify_one();
            }
            if (!c) break;  // the end
            if (!stopped_) process(*c);
            publish(c->first_line + c->newlines);
        }
        stopped_ = true;
        publish(no_line);
    }

    // What the merge may take: transitions so far, and how far this worker has got.
    struct progress {
        std::uint64_t line = 0;            // every line before it is done
        timestamp clock = timestamp_min;   // no later transition is earlier than this
    };
    progress take(std::vector<pending_transition>& into) {
        std::lock_guard lock(mutex_);
        for (auto& t : published_) into.push_back(std::move(t));
        published_.clear();
        return progress_;
    }

    // After the threads have joined: the closing advance of the whole log.
    void finish(std::optional<timestamp> last_event, std::vector<pending_transition>& into) {
        if (last_event) {
            core_.advance_to(*last_event - duration{1});
            collect(no_line);
        }
        if (run_.options.until) {
            core_.advance_to(*run_.options.until);
            collect(no_line);
        }
        for (auto& t : produced_) into.push_back(std::move(t));
        produced_.clear();
    }

    std::optional<std::pair<std::uint64_t, timestamp>> last_applied() const { return last_applied_; }
    std::optional<std::pair<std::uint64_t, std::string>> error() const { return error_; }

private:
    static constexpr std::size_t max_queued = 8;

    // A line this worker may own: not blank, and its account (by the quick scan) hashes
    // here, or the scan was unsure.
    struct candidate {
        std::string_view line;
        std::uint64_t number = 0;
        std::optional<std::string_view> account;
        std::uint64_t hash = 0;                           // of the account, for the prefetch steps
        std::uint32_t record = engine::core::no_account;  // prefetched, when the account is known
    };

    // Steps `p` past the next candidate line of [p, end). False at the end of the text, or
    // at a line at or past the stop line (then stopped_ is set).
    bool next_candidate(const char*& p, const char* end, std::uint64_t& number, candidate& out) {
        for (; p < end; ++number) {
            const char* newline = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
            const char* line_end = newline ? newline : end;
            std::string_view line(p, static_cast<std::size_t>(line_end - p));
            p = newline ? newline + 1 : end;
            if (number >= run_.stop_line.load(std::memory_order_relaxed)) {
                stopped_ = true;
                return false;
            }
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (blank(line)) continue;
            auto account = quick_account(line);
            if (account && owner_hash(*account) % run_.workers != index_) continue;
            out = {line, number++, account, 0, engine::core::no_account};
            return true;
        }
        return false;
    }

    // Applies this worker's lines of the chunk, in order, looking ahead at the next four
    // candidates to prefetch their accounts (engine::core's four prefetch steps, one a
    // candidate: the fourth ahead's lookup slot, the third's record, the second's
    // contents, the next one's usage points), so that the cache misses of a cold account
    // overlap with the current event's work instead of following one another.
    void process(const chunk& c) {
        const char* p = c.text.data();
        const char* end = p + c.text.size();
        std::uint64_t number = c.first_line;
        constexpr std::size_t depth = 5;  // the current line and four ahead
        std::array<candidate, depth> ring;
        std::size_t head = 0, count = 0;
        auto at = [&](std::size_t k) -> candidate& { return ring[(head + k) % depth]; };
        while (count < depth - 1 && next_candidate(p, end, number, at(count))) ++count;
        while (count > 0) {
            if (count == depth - 1 && next_candidate(p, end, number, at(count))) ++count;
            if (count > 4 && at(4).account) at(4).hash = core_.prefetch_slot(*at(4).account);
            if (count > 3 && at(3).account) at(3).record = core_.prefetch_record(at(3).hash);
            if (count > 2) core_.prefetch_contents(at(2).record);
            if (count > 1) core_.prefetch_series(at(1).record);
            candidate current = at(0);
            head = (head + 1) % depth;
            --count;
            if (!apply_line(current)) return;
        }
    }

    // False when the worker stops (a bad line, an event after --until, the stop line).
    bool apply_line(const candidate& c) {
        if (c.number >= run_.stop_line.load(std::memory_order_relaxed)) {
            stopped_ = true;
            return false;
        }
        std::string problem = decoder_.decode(c.line, decoded_);
        if (!problem.empty()) {
            // A line whose account the scan found belongs to this worker; one it did
            // not is read by every worker, and the first reports it.
            if (c.account || index_ == 0) fail(c.number, std::move(problem));
            stopped_ = true;
            return false;
        }
        const model::event& e = *decoded_;
        if (!c.account && owner_hash(e.account) % run_.workers != index_) return true;
        if (run_.options.until && e.at > *run_.options.until) {
            run_.stop_at(c.number);
            stopped_ = true;
            return false;
        }
        core_.advance_to(e.at - duration{1});
        collect(c.number);
        core_.apply(e);
        collect(c.number);
        last_applied_ = {c.number, e.at};
        return true;
    }

    void fail(std::uint64_t line, std::string problem) {
        error_ = {line, std::move(problem)};
        run_.stop_at(line);
    }

    void collect(std::uint64_t line) {
        for (const auto& e : core_.events()) {
            if (!printed(run_.options, e)) continue;
            pending_transition t{e.at, e.record.account, line, {}};
            append_transition(t.text, e);
            produced_.push_back(std::move(t));
        }
        core_.clear_events();
    }

    void publish(std::uint64_t next_line) {
        std::lock_guard lock(mutex_);
        for (auto& t : produced_) published_.push_back(std::move(t));
        produced_.clear();
        progress_.line = stopped_ ? no_line : next_line;
        progress_.clock = core_.now();
    }

    replay_run& run_;
    const std::size_t index_;
    engine::core core_;
    line_decoder decoder_;
    std::optional<model::event> decoded_;
    std::vector<pending_transition> produced_;
    bool stopped_ = false;
    std::optional<std::pair<std::uint64_t, timestamp>> last_applied_;
    std::optional<std::pair<std::uint64_t, std::string>> error_;

    std::mutex mutex_;  // guards the queue and what is published
    std::condition_variable ready_, room_;
    std::deque<std::shared_ptr<const chunk>> queue_;
    std::vector<pending_transition> published_;
    progress progress_;
};

// Collects the workers' transitions and prints those no worker can precede any more.
class transition_merge {
public:
    explicit transition_merge(std::ostream& out) : out_(out) {}

    void add(std::vector<pending_transition>& more) {
        for (auto& t : more) pool_.push_back(std::move(t));
        more.clear();
    }

    // Drops transitions of lines at or after `stop` (not applied by a single-core replay),
    // then prints, in order, those earlier than `clock` and caused before `line` (any
    // line, the closing advance's included, when `line` is no_line).
    void print_final(std::uint64_t stop, std::uint64_t line, timestamp clock) {
        std::erase_if(pool_, [&](const pending_transition& t) { return t.line != no_line && t.line >= stop; });
        std::stable_sort(pool_.begin(), pool_.end(), [](const pending_transition& a, const pending_transition& b) {
            return a.at != b.at ? a.at < b.at : a.account < b.account;
        });
        std::size_t n = 0;
        while (n < pool_.size() && pool_[n].at < clock && (line == no_line || pool_[n].line < line)) {
            out_.write(pool_[n].text.data(), static_cast<std::streamsize>(pool_[n].text.size()));
            ++n;
        }
        pool_.erase(pool_.begin(), pool_.begin() + static_cast<std::ptrdiff_t>(n));
    }

private:
    std::ostream& out_;
    std::vector<pending_transition> pool_;
};

int replay_sharded(const replay_options& options, std::shared_ptr<const rules::rule_set> rules, std::FILE* file,
                   std::ostream& out, std::ostream& err) {
    chunk_reader reader(file, options.block_bytes);
    auto first = reader.next();
    if (!first) {
        if (reader.failed()) {
            err << options.events << ": error: read failed\n";
            return 1;
        }
        return 0;
    }
    // The grid's origin is the first event's `at`, read here before the workers start
    // (past any chunks of blank lines, which the workers then skip).
    replay_run run{options, rules};
    std::vector<std::shared_ptr<const chunk>> head{first};
    std::optional<timestamp> origin;
    for (auto c = first; c && !origin;) {
        std::string problem;
        std::uint64_t line_number = 0;
        origin = first_event_time(*c, problem, line_number);
        if (!problem.empty()) {
            err << options.events << ":" << line_number << ": error: " << problem << "\n";
            return 1;
        }
        if (!origin && (c = reader.next())) head.push_back(c);
    }
    if (!origin) return 0;  // no event at all
    run.origin = *origin;

    // The cores build up to a gigabyte of account state in small pieces. glibc grows a
    // thread's heap by 128 KiB at a time, each step an mprotect call (about 1.5% of a
    // replay's CPU); grow it by 32 MiB instead.
    ::mallopt(M_TOP_PAD, 32 << 20);
    std::size_t threads = options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    run.workers = threads;
    std::vector<std::unique_ptr<replay_worker>> workers;
    for (std::size_t i = 0; i < threads; ++i) workers.push_back(std::make_unique<replay_worker>(run, i));
    std::vector<std::thread> running;
    for (auto& w : workers) running.emplace_back([&w] { w->run(); });

    transition_merge merge(out);
    std::vector<pending_transition> taken;
    auto merge_progress = [&]() {
        std::uint64_t line = no_line;
        timestamp clock = timestamp_max;
        for (auto& w : workers) {
            auto p = w->take(taken);
            line = std::min(line, p.line);
            clock = std::min(clock, p.clock);
        }
        merge.add(taken);
        merge.print_final(run.stop_line.load(), line, clock);
    };

    for (std::size_t i = 0;; ++i) {
        auto c = i < head.size() ? head[i] : reader.next();
        if (!c) break;
        for (auto& w : workers) w->push(c);
        merge_progress();
        if (run.stop_line.load() != no_line) break;
    }
    for (auto& w : workers) w->push(nullptr);
    for (auto& t : running) t.join();
    if (reader.failed()) {
        err << options.events << ": error: read failed\n";
        return 1;
    }

    std::optional<std::pair<std::uint64_t, std::string>> error;
    std::optional<std::pair<std::uint64_t, timestamp>> last;
    for (auto& w : workers) {
        if (auto e = w->error(); e && (!error || e->first < error->first)) error = e;
        if (auto l = w->last_applied(); l && (!last || l->first > last->first)) last = l;
        w->take(taken);
        merge.add(taken);
    }
    if (error) {
        merge.print_final(error->first, error->first, timestamp_max);
        out.flush();
        err << options.events << ":" << error->first << ": error: " << error->second << "\n";
        return 1;
    }
    // The closing advance, and then freeing each core's accounts, run on the cores in
    // parallel: freeing 100,000 accounts' state alone takes about a second of one core.
    auto on_each_worker = [&](auto&& work) {
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < workers.size(); ++i) threads.emplace_back([&work, i] { work(i); });
        for (auto& t : threads) t.join();
    };
    std::vector<std::vector<pending_transition>> closing(workers.size());
    on_each_worker([&](std::size_t i) {
        workers[i]->finish(last ? std::optional<timestamp>(last->second) : std::nullopt, closing[i]);
    });
    for (auto& c : closing) merge.add(c);
    merge.print_final(run.stop_line.load(), no_line, timestamp_max);
    out.flush();
    on_each_worker([&](std::size_t i) { workers[i].reset(); });
    return 0;
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
    if (observer) return replay_in_order(options, loaded.rules, file, out, err, *observer);
    return replay_sharded(options, loaded.rules, file, out, err);
}

}  // namespace redflag::app
