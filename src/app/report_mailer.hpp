// The weekly report by email (README "The weekly report"): for each email channel with
// `report: "weekly mon 08:00"`, at each instant of that schedule (delivery/digest.hpp,
// in engine.timezone) the report is built from the engine at that instant
// (report/gather.hpp, report/weekly.hpp), rendered as text and HTML (report/render.hpp)
// and handed to the channel's email sender as one message to the channel's `to`.
//
// One thread sleeps until the earliest channel's next instant. A send that fails with a
// retryable outcome is tried again every `retry_every`, at most `attempts` times; then
// it is logged and given up until the next instant. Each channel's last instant sent is
// kept in column `meta` (written once the server took the message), so an instant that
// passed while the service was down, or whose sending was given up, is sent once at the
// next start: only the latest one due, built from the data at sending; a crash between
// the send and that write sends it again under the same Message-ID. A channel seen for
// the first time starts from the next instant. Channels are read at start; a reload does
// not change them.
//
// Thread-safety: start() and stop() from one thread; the rest runs on the mailer's own.
#pragma once

#include "core/time.hpp"
#include "delivery/channel.hpp"
#include "delivery/digest.hpp"
#include "engine/service.hpp"
#include "store/store.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace redflag::app {

struct report_channel {
    std::string name;
    delivery::digest_schedule schedule;
    std::string to;
    std::unique_ptr<delivery::channel_sender> sender;
};

struct report_mailer_options {
    int attempts = 5;
    duration retry_every = minute;
};

class report_mailer {
public:
    report_mailer(engine::service& service, store::store& store, const clock& clock,
                  std::vector<report_channel> channels, report_mailer_options options = {});
    ~report_mailer();

    void start();
    void stop();

private:
    void run();
    // The channel's first instant to wait for: its latest due instant when that was not
    // sent, else the next one.
    timestamp first_instant(const report_channel& c, timestamp now);
    std::optional<timestamp> last_sent(const report_channel& c);
    void record_sent(const report_channel& c, timestamp at);
    // Builds the report at `at` and sends it on channel `c`; false when stopping.
    void send(report_channel& c, timestamp at);
    // Waits until `t` by the clock, or until stop(); false when stopped.
    bool wait_until(timestamp t);

    engine::service& service_;
    store::store& store_;
    const clock& clock_;
    std::vector<report_channel> channels_;
    report_mailer_options options_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;  // guarded by mutex_
    std::thread thread_;
};

}  // namespace redflag::app
