#include "app/report_mailer.hpp"

#include "report/gather.hpp"
#include "report/render.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <future>

namespace redflag::app {

report_mailer::report_mailer(engine::service& service, store::store& store, const clock& clock,
                             std::vector<report_channel> channels, report_mailer_options options)
    : service_(service), store_(store), clock_(clock), channels_(std::move(channels)), options_(options) {}

report_mailer::~report_mailer() { stop(); }

void report_mailer::start() {
    if (channels_.empty() || thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void report_mailer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool report_mailer::wait_until(timestamp t) {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        const auto now = clock_.now();
        if (now >= t) return true;
        // The clock is the service's, not the condition variable's: look again at least
        // every second, so that a clock set forward is followed.
        wake_.wait_for(lock, std::min<duration>(t - now, std::chrono::seconds(1)));
    }
    return false;
}

namespace {
// The `meta` key of a channel's last instant sent (its value: milliseconds, decimal).
std::string sent_key(std::string_view channel) {
    std::string k = "report_sent";
    k.push_back('\0');
    k.append(channel);
    return k;
}
}  // namespace

std::optional<timestamp> report_mailer::last_sent(const report_channel& c) {
    auto got = store_.get(store::column::meta, sent_key(c.name));
    if (!got.ok()) {
        spdlog::error("channel {}: reading when the weekly report was last sent failed: {}", c.name,
                      got.error().message());
        return std::nullopt;
    }
    if (!got.value()) return std::nullopt;
    std::int64_t ms = 0;
    const auto& text = *got.value();
    if (std::from_chars(text.data(), text.data() + text.size(), ms).ec != std::errc{}) return std::nullopt;
    return from_millis(ms);
}

void report_mailer::record_sent(const report_channel& c, timestamp at) {
    store::write_batch batch(store_);
    batch.put(store::column::meta, sent_key(c.name), std::to_string(to_millis(at)));
    if (auto st = store_.write(batch); !st.ok())
        spdlog::error("channel {}: recording the weekly report of {} as sent failed (it may be sent again at the "
                      "next start): {}",
                      c.name, format_date(at), st.message());
}

timestamp report_mailer::first_instant(const report_channel& c, timestamp now) {
    const auto due = c.schedule.last_at_or_before(now);
    const auto sent = last_sent(c);
    if (sent && *sent < due) {
        spdlog::info("channel {}: the weekly report of {} was not sent; sending it now", c.name, format_date(due));
        return due;
    }
    if (!sent) record_sent(c, due);  // a new channel: nothing before it is owed
    return c.schedule.next_after(now);
}

void report_mailer::run() {
    std::vector<timestamp> next;
    const auto start = clock_.now();
    for (const auto& c : channels_) next.push_back(first_instant(c, start));
    while (true) {
        auto earliest = std::min_element(next.begin(), next.end());
        if (!wait_until(*earliest)) return;
        const auto i = static_cast<std::size_t>(earliest - next.begin());
        send(channels_[i], *earliest);
        next[i] = channels_[i].schedule.next_after(std::max(*earliest, clock_.now()));
    }
}

void report_mailer::send(report_channel& c, timestamp at) {
    std::promise<report::weekly_input> gathered;
    auto facts = gathered.get_future();
    report::collect_accounts(service_, at, {}, [&gathered, at](std::vector<report::account_facts> accounts,
                                                          std::vector<std::string> bands) {
        gathered.set_value(report::weekly_input{at, {}, std::move(bands), std::move(accounts), {}});
    });
    auto in = facts.get();
    if (auto st = report::complete(store_, in); !st.ok()) {
        spdlog::error("channel {}: the weekly report of {} was not sent: reading its data failed: {}", c.name,
                      format_rfc3339(at), st.message());
        return;
    }
    const auto built = report::build_weekly(in);
    const delivery::document doc{report::subject(built), report::render_text(built), report::render_html(built)};
    const std::string key = "report-" + c.name + "-" + std::to_string(to_millis(at));
    for (int attempt = 1;; ++attempt) {
        auto r = c.sender->send_document(c.to, key, doc);
        if (r.result == delivery::send_result::outcome::sent) {
            spdlog::info("channel {}: sent the weekly report of {} to {}", c.name, format_date(at), c.to);
            record_sent(c, at);
            return;
        }
        const bool again = r.result == delivery::send_result::outcome::retry && attempt < options_.attempts;
        spdlog::warn("channel {}: sending the weekly report failed (attempt {}): {}{}", c.name, attempt, r.error,
                     again ? "; trying again" : "; given up until the next one");
        if (!again || !wait_until(clock_.now() + r.retry_after.value_or(options_.retry_every))) return;
    }
}

}  // namespace redflag::app
